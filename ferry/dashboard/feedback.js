// What the user is told after an action: a polite status line, or an alert for a failure.

export function announce(text) {
  document.getElementById("alert").textContent = "";
  document.getElementById("status").textContent = text;
}

export function report(error) {
  document.getElementById("alert").textContent = error && error.message ? error.message : String(error);
}

export function clear() {
  document.getElementById("alert").textContent = "";
  document.getElementById("status").textContent = "";
}

// Runs one user action: reports its failure instead of leaving it in the console.
export async function act(action, done) {
  try {
    const result = await action();
    if (done) announce(typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    report(error);
    return undefined;
  }
}
