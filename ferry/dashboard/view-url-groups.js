// URL groups (the API's "topics") and their endpoints.

import { get } from "./api.js";
import { h, renderKeepingFocus, replace, table, time } from "./dom.js";

export function list(root) {
  const rowsBox = h("div", { className: "rows" });

  async function refresh() {
    const groups = await get("/v2/topics");
    renderKeepingFocus(rowsBox, JSON.stringify(groups), () =>
      table({
        caption: "URL groups",
        columns: ["Name", "Endpoints", "Updated"],
        empty: "No URL groups. Add endpoints with POST /v2/topics/{name}/endpoints.",
        rows: groups.map((g) =>
          h(
            "tr",
            { "data-url-group": g.name },
            h("td", {}, h("code", {}, g.name)),
            h(
              "td",
              {},
              h(
                "ul",
                { className: "endpoints", "aria-label": `Endpoints of ${g.name}` },
                (g.endpoints || []).map((e) => h("li", {}, e.name ? `${e.name}: ` : "", h("span", { className: "url" }, e.url))),
              ),
            ),
            h("td", {}, time(g.updatedAt || g.createdAt)),
          ),
        ),
      }),
    );
  }

  replace(root, h("h2", {}, "URL groups"), rowsBox);
  return { title: "URL groups", refresh };
}
