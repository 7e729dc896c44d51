/* Draws the book's Plotly figures from the JSON embedded in each page.
 *
 * Each figure is <figure class="cu-plotly"> holding a
 * <script type="application/json" class="cu-plotly-data"> (data, layout,
 * frames) and an empty <div class="cu-plotly-canvas">. Figures are drawn when
 * they come near the viewport, and redrawn with matching colours when the
 * reader switches the theme between light and dark. No network access.
 * plotly.js is loaded by course_lazy.js when a figure comes near (see
 * course_book.page_assets): figures are observed once it has run.
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
    // Buttons: plotly.js paints the pressed one #F4FAFF whatever the layout says, so the
    // dark theme's light text would vanish on it. The faces stay light, with dark text, and
    // the unpressed ones grey enough for the pressed one to stand out.
    updatemenudefaults: {
      bgcolor: "#adb5bd",
      bordercolor: "#8c959f",
      font: { color: "#1e2124" },
    },
    sliderdefaults: {
      bgcolor: "#3a3f44",
      activebgcolor: "#8c959f",
      bordercolor: "#8c959f",
      font: { color: "#e6e6e6" },
    },
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

  // A canvas narrower than this (a phone) gets the figure's narrow layout, when it has one
  // (course_book.narrow_figures: panels re-flowed into fewer columns), and then the fixes
  // that only a drawn figure can measure (see fitNarrow).
  var NARROW_BELOW_PX = 600;
  var CONFIG = { responsive: true, displaylogo: false, scrollZoom: false };

  // (course_plotly_narrow.js, loaded before this script, does the measuring.)
  function isNarrow(canvas) {
    var width = canvas.clientWidth;
    return Boolean(window.cuNarrow) && width > 0 && width < NARROW_BELOW_PX;
  }

  // The layout for the canvas's width: the figure's own, or on a narrow canvas its narrow
  // overrides (whole top-level keys) and the fixes measured when it was first drawn.
  // A fresh copy each time: Plotly writes what it computes (ranges, constrained domains)
  // back into the layout it is given.
  function layoutFor(figureEl, canvas) {
    var layout = figureEl._cuLayout;
    if (isNarrow(canvas)) {
      layout = window.cuNarrow.layout(layout, figureEl._cuNarrow, figureEl._cuFixes);
    }
    return JSON.parse(JSON.stringify(layout));
  }

  function draw(figureEl) {
    if (figureEl.dataset.cuDrawn) {
      return;
    }
    figureEl.dataset.cuDrawn = "pending";
    var spec = JSON.parse(figureEl.querySelector("script.cu-plotly-data").textContent);
    var canvas = figureEl.querySelector(".cu-plotly-canvas");
    figureEl._cuLayout = spec.layout || {};
    figureEl._cuNarrow = spec.narrow || null;
    figureEl._cuFrames = spec.frames || [];
    figureEl._cuFixes = {};
    figureEl._cuMode = isNarrow(canvas) ? "narrow" : "wide";
    window.Plotly.newPlot(canvas, {
      data: spec.data || [],
      layout: themedLayout(layoutFor(figureEl, canvas), isDark()),
      frames: figureEl._cuFrames,
      config: CONFIG,
    })
      .then(function () {
        return figureEl._cuMode === "narrow" ? fitNarrow(figureEl, canvas) : null;
      })
      .then(function () {
        enableKeyboard(figureEl, canvas);
        watchWidth(figureEl, canvas);
        figureEl.dataset.cuDrawn = "true";
        figureEl.dispatchEvent(new CustomEvent("cu-plotly-drawn", { bubbles: true }));
      });
  }

  // --- narrow canvases -------------------------------------------------------------

  // Measures the drawn figure and draws it again with what course_plotly_narrow.js found
  // does not fit, pass after pass (see there), until a pass after the first finds nothing.
  function fitNarrow(figureEl, canvas, pass) {
    pass = pass || 1;
    if (pass > window.cuNarrow.PASSES) {
      return null;
    }
    if (!window.cuNarrow.measure(canvas, figureEl._cuFixes, pass)) {
      return pass === 1 ? fitNarrow(figureEl, canvas, 2) : null; // nothing more to fix
    }
    return redraw(figureEl, canvas).then(function () {
      return fitNarrow(figureEl, canvas, pass + 1);
    });
  }

  // Draws the figure again from scratch for the layout its width needs. (Plotly.react
  // leaves the old buttons behind when a row of buttons turns into a drop-down.)
  function redraw(figureEl, canvas) {
    var data = canvas.data;
    if (window.cuNarrow) {
      data = isNarrow(canvas)
        ? window.cuNarrow.data(data, figureEl._cuFixes)
        : window.cuNarrow.restore(data);
    }
    return window.Plotly.newPlot(canvas, {
      data: data,
      layout: themedLayout(layoutFor(figureEl, canvas), isDark()),
      frames: figureEl._cuFrames,
      config: CONFIG,
    });
  }

  // A figure whose canvas crosses NARROW_BELOW_PX (a phone turned, a window resized) is
  // drawn again from its page layout, for its new width.
  function watchWidth(figureEl, canvas) {
    if (!("ResizeObserver" in window) || figureEl._cuWatched) {
      return;
    }
    figureEl._cuWatched = true;
    new ResizeObserver(function () {
      var mode = isNarrow(canvas) ? "narrow" : "wide";
      if (mode === figureEl._cuMode || figureEl.dataset.cuDrawn !== "true") {
        return;
      }
      figureEl._cuMode = mode;
      figureEl._cuFixes = {};
      redraw(figureEl, canvas).then(function () {
        return mode === "narrow" ? fitNarrow(figureEl, canvas) : null;
      });
    }).observe(canvas);
  }

  // Keyboard use. Plotly's sliders and buttons answer the mouse only, so a figure that has
  // them takes the focus (Tab) and answers keys: the arrows move its first slider one step,
  // Home and End jump to its ends, and the digits 1-9 press the buttons of its first row of
  // buttons that is not the play/pause pair.
  function isAnimationMenu(menu) {
    return (menu.buttons || []).every(function (b) {
      return b.method === "animate";
    });
  }

  function choiceMenuIndex(layout) {
    var menus = layout.updatemenus || [];
    for (var i = 0; i < menus.length; i++) {
      if (!isAnimationMenu(menus[i])) {
        return i;
      }
    }
    return -1;
  }

  var COMMANDS = ["animate", "restyle", "relayout", "update"]; // what sliders and buttons call

  function run(canvas, command, update) {
    if (COMMANDS.indexOf(command.method) < 0) {
      return Promise.resolve();
    }
    var args = [canvas].concat(command.args || []);
    var done = window.Plotly[command.method].apply(null, args);
    return Promise.resolve(done).then(function () {
      return window.Plotly.relayout(canvas, update);
    });
  }

  function onKey(event) {
    var figureEl = event.currentTarget;
    var canvas = figureEl.querySelector(".cu-plotly-canvas");
    var layout = canvas._fullLayout;
    var slider = (layout.sliders || [])[0];
    var key = event.key;
    if (slider && ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(key)) {
      var last = slider.steps.length - 1;
      var target = { Home: 0, End: last }[key];
      if (target === undefined) {
        var forward = key === "ArrowRight" || key === "ArrowUp";
        target = Math.min(last, Math.max(0, (slider.active || 0) + (forward ? 1 : -1)));
      }
      event.preventDefault();
      run(canvas, slider.steps[target], { "sliders[0].active": target });
      return;
    }
    var menuIndex = choiceMenuIndex(layout);
    var digit = parseInt(key, 10);
    if (menuIndex >= 0 && digit >= 1 && digit <= 9) {
      var buttons = layout.updatemenus[menuIndex].buttons;
      if (digit <= buttons.length) {
        event.preventDefault();
        var update = {};
        update["updatemenus[" + menuIndex + "].active"] = digit - 1;
        run(canvas, buttons[digit - 1], update);
      }
    }
  }

  function enableKeyboard(figureEl, canvas) {
    var layout = canvas._fullLayout;
    var keys = [];
    if ((layout.sliders || []).length) {
      keys.push("left and right arrows move the slider, Home and End go to its ends");
    }
    var menuIndex = choiceMenuIndex(layout);
    if (menuIndex >= 0) {
      var n = Math.min(9, layout.updatemenus[menuIndex].buttons.length);
      keys.push("keys 1 to " + n + " press the buttons");
    }
    if (!keys.length || figureEl.hasAttribute("tabindex")) {
      return;
    }
    figureEl.setAttribute("tabindex", "0");
    var label = figureEl.getAttribute("aria-label") || "Interactive figure";
    figureEl.setAttribute("aria-label", label + ". Keyboard: " + keys.join("; ") + ".");
    figureEl.title = "Keyboard: " + keys.join("; ");
    figureEl.addEventListener("keydown", onKey);
  }

  function templateFontColour(layout) {
    var font = (((layout.template || {}).layout || {}).font || {});
    return font.color || "#444";
  }

  function redrawForTheme() {
    var dark = isDark();
    document.querySelectorAll("figure.cu-plotly[data-cu-drawn='true']").forEach(function (el) {
      var canvas = el.querySelector(".cu-plotly-canvas");
      // Keep what the reader changed (the active button, the slider's step, zoom) and swap
      // only the template back to the page's original before theming it again.
      var current = Object.assign({}, canvas.layout, { template: el._cuLayout.template });
      var quiet = (el._cuFixes || {}).quietSliders || [];
      if (quiet.length && el._cuMode === "narrow") {
        // a hidden step labels' slider names its current value in the theme's text colour
        el._cuFixes.valueColour = dark ? DARK.font.color : templateFontColour(el._cuLayout);
        current.sliders = current.sliders.slice();
        quiet.forEach(function (index) {
          var slider = current.sliders[index];
          current.sliders[index] = Object.assign({}, slider, {
            currentvalue: Object.assign({}, slider.currentvalue, {
              font: Object.assign({}, (slider.currentvalue || {}).font, { color: el._cuFixes.valueColour }),
            }),
          });
        });
      }
      window.Plotly.react(canvas, canvas.data, themedLayout(current, dark));
    });
  }

  // plotly.js is added by course_lazy.js (id cu-plotly-js) when a figure comes near: it
  // may run before or after this script, or later, or never.
  function whenPlotlyReady(callback) {
    if (window.Plotly) {
      callback();
      return;
    }
    document.addEventListener(
      "load",
      function onLoad(event) {
        if (event.target && event.target.id === "cu-plotly-js") {
          document.removeEventListener("load", onLoad, true);
          callback();
        }
      },
      true // a script's load event does not bubble; it is seen on the way down
    );
  }

  function start() {
    var figures = document.querySelectorAll("figure.cu-plotly");
    if (!figures.length) {
      return;
    }
    whenPlotlyReady(function () {
      observeFigures(figures);
    });
  }

  var MARGIN_PX = 400; // a figure is drawn once it comes this close to the viewport

  function inViewport(el) {
    var rect = el.getBoundingClientRect();
    return rect.bottom > 0 && rect.top < window.innerHeight;
  }

  function observeFigures(figures) {
    // A figure the reader already sees is drawn now, in this task: an IntersectionObserver
    // reports it only after the next layout, and by then MathJax, which typesets the page at
    // DOMContentLoaded, may hold the main thread for a few hundred milliseconds.
    var later = [];
    figures.forEach(function (el) {
      if (inViewport(el)) {
        draw(el);
      } else {
        later.push(el);
      }
    });
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
        { rootMargin: MARGIN_PX + "px 0px" }
      );
      later.forEach(function (el) {
        observer.observe(el);
      });
    } else {
      later.forEach(draw);
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
