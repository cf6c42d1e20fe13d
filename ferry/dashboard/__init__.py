"""The dashboard's static files (HTML, JavaScript modules, CSS), shipped as package data and
served by `ferry.api.dashboard`. Vanilla ES modules: no build step, no CDN."""
