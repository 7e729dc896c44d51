/* Draws the book's Plotly figures from the JSON embedded in each page.
 *
 * Each figure is <figure class="cu-plotly"> holding a
 * <script type="application/json" class="cu-plotly-data"> (data, layout,
 * frames) and an empty <div class="cu-plotly-canvas">. Figures are drawn when
 * they come near the viewport, and redrawn with matching colours when the
 * reader switches the theme between light and dark. No network access.
 */
(function () {
  "use strict";

  function isDark() {
    return document.documentElement.dataset.theme === "dark";
  }

  // Template colours that keep axes and text readable on the dark theme. A
  // template's xaxis/yaxis apply to every subplot's axes.
  var DARK = {
    paper_bgcolor: "#1e2124",
    plot_bgcolor: "#262a2e",
    font: { color: "#e6e6e6" },
    xaxis: { gridcolor: "#3a3f44", zerolinecolor: "#555b61", linecolor: "#555b61" },
    yaxis: { gridcolor: "#3a3f44", zerolinecolor: "#555b61", linecolor: "#555b61" },
  };

  function deepMerge(base, extra) {
    var out = Object.assign({}, base);
    Object.keys(extra).forEach(function (key) {
      var value = extra[key];
      var isObject = value && typeof value === "object" && !Array.isArray(value);
      out[key] = isObject && base[key] ? deepMerge(base[key], value) : value;
    });
    return out;
  }

  function themedLayout(layout, dark) {
    var out = Object.assign({}, layout, { autosize: true });
    if (dark) {
      var template = layout.template || {};
      out.template = deepMerge(template, { layout: deepMerge(template.layout || {}, DARK) });
    }
    return out;
  }

  function draw(figureEl) {
    if (figureEl.dataset.cuDrawn) {
      return;
    }
    figureEl.dataset.cuDrawn = "pending";
    var spec = JSON.parse(figureEl.querySelector("script.cu-plotly-data").textContent);
    var canvas = figureEl.querySelector(".cu-plotly-canvas");
    figureEl._cuLayout = spec.layout || {};
    window.Plotly.newPlot(canvas, {
      data: spec.data || [],
      layout: themedLayout(figureEl._cuLayout, isDark()),
      frames: spec.frames || [],
      config: { responsive: true, displaylogo: false, scrollZoom: false },
    }).then(function () {
      figureEl.dataset.cuDrawn = "true";
      figureEl.dispatchEvent(new CustomEvent("cu-plotly-drawn", { bubbles: true }));
    });
  }

  function redrawForTheme() {
    var dark = isDark();
    document.querySelectorAll("figure.cu-plotly[data-cu-drawn='true']").forEach(function (el) {
      var canvas = el.querySelector(".cu-plotly-canvas");
      // Keep what the reader changed (the active button, the slider's step, zoom) and swap
      // only the template back to the page's original before theming it again.
      var current = Object.assign({}, canvas.layout, { template: el._cuLayout.template });
      window.Plotly.react(canvas, canvas.data, themedLayout(current, dark));
    });
  }

  function start() {
    var figures = document.querySelectorAll("figure.cu-plotly");
    if (!figures.length || !window.Plotly) {
      return;
    }
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              draw(entry.target);
            }
          });
        },
        { rootMargin: "400px 0px" }
      );
      figures.forEach(function (el) {
        observer.observe(el);
      });
    } else {
      figures.forEach(draw);
    }
    new MutationObserver(redrawForTheme).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
