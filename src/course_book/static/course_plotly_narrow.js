/* Figures on a narrow canvas (a phone): what only a drawn figure can measure.
 *
 * course_book.narrow_figures re-flows side-by-side panels at build time; course_plotly.js
 * draws a figure with that layout when its canvas is narrower than 600 px and then asks
 * this module, pass after pass, what still does not fit: measure(canvas, fixes, pass)
 * records fixes and says whether it found any, and the figure is drawn again with
 * layout(...) and data(...), which apply them. The passes:
 *   1. what takes room from the plot: a title wider than the canvas wraps, a row of
 *      buttons wider than most of it becomes a drop-down, a slider whose step labels pile
 *      up hides them, a legend beside the plot moves above it, an annotation or an axis
 *      title cut off by the edge wraps;
 *   2 and on, until one finds nothing: what then collides: tick labels are thinned, a y
 *      axis's labels step away from an x axis's at the corner, buttons move clear of their
 *      label, sliders move below a legend, contour labels that touch other text are
 *      hidden, point labels that overlap are thinned, a title still too wide wraps shorter.
 * Exposed as window.cuNarrow.
 */
(function () {
  "use strict";

  function isAnimationMenu(menu) {
    return (menu.buttons || []).every(function (b) {
      return b.method === "animate";
    });
  }

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function shownBoxes(root, selector) {
    return all(root, selector)
      .filter(function (el) {
        return el.textContent.trim() && el.getBoundingClientRect().width > 0;
      })
      .map(function (el) {
        return el.getBoundingClientRect();
      });
  }

  function overlap(a, b) {
    return (
      Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 &&
      Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1
    );
  }

  function anyOverlap(rects) {
    for (var i = 1; i < rects.length; i++) {
      for (var j = 0; j < i; j++) {
        if (overlap(rects[i], rects[j])) {
          return true;
        }
      }
    }
    return false;
  }

  function lines(text) {
    return String(text).split(/<br\s*\/?>/);
  }

  // The words of `text` in lines of at most `chars` characters, joined by <br>.
  function wrapWords(text, chars) {
    var out = [];
    lines(text).forEach(function (paragraph) {
      var line = "";
      paragraph.split(" ").forEach(function (word) {
        if (line && (line + " " + word).length > chars) {
          out.push(line);
          line = word;
        } else {
          line = line ? line + " " + word : word;
        }
      });
      out.push(line);
    });
    return out;
  }

  // `text`, drawn `box` wide, wrapped to fit `available` pixels.
  function wrapToFit(text, box, available) {
    var widest = Math.max.apply(null, lines(text).map(function (line) {
      return line.replace(/<[^>]+>/g, "").length;
    }));
    var perChar = box.width / Math.max(1, widest);
    return wrapWords(text, Math.max(8, Math.floor(available / perChar)));
  }

  // The drawn group of a row of buttons or a drop-down: Plotly draws every menu of a figure
  // in one container, a header group each, which holds the buttons of a row or the
  // drop-down's current choice.
  function menuGroup(canvas, menu) {
    var labels = (menu.buttons || []).map(function (button) {
      return button.label;
    });
    return all(canvas, ".updatemenu-header-group").filter(function (group) {
      var text = group.textContent;
      return labels.length && (menu.type === "dropdown"
        ? labels.some(function (label) { return text.indexOf(label) >= 0; })
        : labels.every(function (label) { return text.indexOf(label) >= 0; }));
    })[0];
  }

  function outside(box, canvas) {
    return box.left < canvas.left - 1 || box.right > canvas.right + 1;
  }

  // --- the passes ----------------------------------------------------------------

  // A title wider than the canvas wraps; one still too wide after a redraw wraps shorter.
  function measureTitle(canvas, fixes) {
    var frame = canvas.getBoundingClientRect();
    var layout = canvas._fullLayout;
    var title = canvas.querySelector(".g-gtitle text");
    if (!title || !title.textContent || title.getBoundingClientRect().right <= frame.right - 2) {
      return false;
    }
    var box = title.getBoundingClientRect();
    var text = fixes.titleSource || layout.title.text;
    var wrapped = wrapToFit(layout.title.text, box, frame.right - box.left - 8);
    if (fixes.title) {  // already wrapped once: shorter lines, in proportion
      var chars = Math.floor((fixes.titleChars || 40) * (frame.right - box.left - 8) / box.width);
      wrapped = wrapWords(text, Math.max(8, chars));
    }
    var lineHeight = Math.ceil(layout.title.font.size * 1.3);
    fixes.titleSource = text;
    fixes.titleChars = Math.max.apply(null, wrapped.map(function (line) {
      return line.length;
    }));
    fixes.title = wrapped.join("<br>");
    fixes.extraTop = (wrapped.length - lines(text).length) * lineHeight;
    return true;
  }

  function measureControls(canvas, fixes) {
    var changed = false;
    var frame = canvas.getBoundingClientRect();
    var layout = canvas._fullLayout;
    changed = measureTitle(canvas, fixes) || changed;
    (layout.updatemenus || []).forEach(function (menu, index) {
      if (menu.type === "dropdown" || isAnimationMenu(menu) || !menu.buttons.length) {
        return;
      }
      var group = menuGroup(canvas, menu);
      var box = group && group.getBoundingClientRect();
      if (box && (box.width > 0.8 * frame.width || box.right > frame.right + 1)) {
        (fixes.dropdowns = fixes.dropdowns || []).push(index);
        changed = true;
      }
    });
    var sliders = all(canvas, ".slider-container");
    (layout.sliders || []).forEach(function (slider, index) {
      var cut = sliders[index] && shownBoxes(sliders[index], "text").some(function (box) {
        return outside(box, frame);
      });
      if (sliders[index] && (cut || anyOverlap(shownBoxes(sliders[index], ".slider-labels text")))) {
        (fixes.quietSliders = fixes.quietSliders || []).push(index);
        fixes.valueColour = layout.font.color;
        changed = true;
      }
    });
    var legend = canvas.querySelector(".legend");
    if (layout.showlegend && legend && layout.legend.orientation !== "h") {
      // a list beside or over the plot takes its width: it goes under the figure
      var legendBox = legend.getBoundingClientRect();
      if (layout.legend.x >= 1 || legendBox.width > 0.5 * frame.width) {
        fixes.legendBelow = Math.ceil(legendBox.height) + 10;
        changed = true;
      }
    }
    all(canvas, "g.annotation[data-index]").forEach(function (group) {
      var index = Number(group.getAttribute("data-index"));
      var note = (layout.annotations || [])[index];
      var box = group.getBoundingClientRect();
      if (!note || !note.text || !outside(box, frame)) {
        return;
      }
      var anchor = note.xanchor === "auto" ? "center" : note.xanchor;
      var room = {
        left: frame.right - box.left,
        right: box.right - frame.left,
        center: 2 * Math.min(box.left + box.width / 2 - frame.left, frame.right - box.left - box.width / 2),
      }[anchor] || frame.width;
      if (box.left < frame.left - 1 && note.xanchor === "right" && lines(note.text).length > 1) {
        fixes.marginLeft = (fixes.marginLeft || 0) + Math.ceil(frame.left - box.left) + 4;
        changed = true;
        return; // already wrapped: the plot makes room on the left instead
      }
      var wrapped = wrapToFit(note.text, box, room - 6);
      fixes.annotations = fixes.annotations || {};
      fixes.annotations[index] = wrapped.join("<br>");
      if (note.yref === "paper" && note.y >= 1 && note.yanchor !== "top") {
        // above the plot, it grows upwards: the plot moves down by its new lines
        var added = (wrapped.length - lines(note.text).length) * Math.ceil(note.font.size * 1.3);
        fixes.annotationTop = Math.max(fixes.annotationTop || 0, added);
      }
      changed = true;
    });
    Object.keys(layout).forEach(function (key) {
      var match = /^([xy])axis(\d*)$/.exec(key);
      var text = match && canvas.querySelector("." + match[1] + match[2] + "title");
      if (!text || !text.textContent || !outside(text.getBoundingClientRect(), frame)) {
        return;
      }
      var wrapped = wrapToFit(layout[key].title.text, text.getBoundingClientRect(), frame.width - 12);
      fixes.axisTitles = fixes.axisTitles || {};
      fixes.axisTitles[key] = { text: wrapped.join("<br>"), extra: (wrapped.length - 1) * 16 };
      changed = true;
    });
    return changed;
  }

  function measureCollisions(canvas, fixes) {
    var changed = false;
    var layout = canvas._fullLayout;
    var frame = canvas.getBoundingClientRect();
    var axes = Object.keys(layout).filter(function (key) {
      return /^[xy]axis\d*$/.test(key);
    });
    axes.forEach(function (key) {
      var id = key[0] + key.slice(5);
      var ticks = shownBoxes(canvas, "g." + id + "tick text");
      if (ticks.length > 2 && anyOverlap(ticks)) {
        fixes.thin = fixes.thin || {};
        fixes.thin[key] = (fixes.thin[key] || 1) * 2;
        changed = true;
      }
    });
    // an x axis's first label against its y axis's lowest, at the corner where they meet
    axes.forEach(function (key) {
      var axis = layout[key];
      if (key[0] !== "x" || !axis._id) {
        return;
      }
      var y = axis.anchor && axis.anchor !== "free" ? axis.anchor : "y";
      var yKey = "yaxis" + y.slice(1);
      var xTicks = shownBoxes(canvas, "g." + axis._id + "tick text");
      var yTicks = shownBoxes(canvas, "g." + y + "tick text");
      var hit = xTicks.some(function (a) {
        return yTicks.some(function (b) {
          return overlap(a, b);
        });
      });
      if (hit && layout[yKey]) {
        fixes.standoff = fixes.standoff || {};
        fixes.standoff[yKey] = (fixes.standoff[yKey] || 0) + 8;
        changed = true;
      }
    });
    // buttons clear of the annotation that names them ("learning rate:")
    var notes = shownBoxes(canvas, "g.annotation");
    (layout.updatemenus || []).forEach(function (menu, index) {
      var group = menuGroup(canvas, menu);
      if (!group) {
        return;
      }
      var box = group.getBoundingClientRect();
      notes.forEach(function (note) {
        if (overlap(note, box) && note.left < box.left) {
          var plotWidth = layout._size.w;
          fixes.menuShift = fixes.menuShift || {};
          fixes.menuShift[index] = (fixes.menuShift[index] || 0) + (note.right - box.left + 6) / plotWidth;
          changed = true;
        }
      });
    });
    // a legend over buttons or annotations goes under the figure
    var legendEl = canvas.querySelector(".legend");
    if (legendEl && layout.showlegend && !fixes.legendBelow) {
      var legendRect = legendEl.getBoundingClientRect();
      var crowded = shownBoxes(canvas, ".updatemenu-header-group, g.annotation").some(function (box) {
        return overlap(box, legendRect);
      });
      if (crowded) {
        fixes.legendBelow = Math.ceil(legendRect.height) + 10;
        changed = true;
      }
    }
    // an annotation that wrapped onto tick labels or a colour bar wraps narrower
    var tickBoxes = shownBoxes(canvas, "g.xtick text, g.ytick text, .cbaxis text, [class$='tick'] text");
    all(canvas, "g.annotation[data-index]").forEach(function (group) {
      var index = Number(group.getAttribute("data-index"));
      var note = (layout.annotations || [])[index];
      var box = group.getBoundingClientRect();
      if (!note || !note.text || !tickBoxes.some(function (t) { return overlap(t, box); })) {
        return;
      }
      var wrapped = wrapToFit(note.text, box, 0.75 * box.width);
      if (wrapped.join("<br>") === note.text) {
        return;
      }
      fixes.annotations = fixes.annotations || {};
      fixes.annotations[index] = wrapped.join("<br>");
      if (note.yref === "paper" && note.y >= 1 && note.yanchor !== "top") {
        var added = (wrapped.length - lines(note.text).length) * Math.ceil(note.font.size * 1.3);
        fixes.annotationTop = (fixes.annotationTop || 0) + added;
      }
      changed = true;
    });
    // sliders and play buttons below a legend that overlaps them
    var legend = canvas.querySelector(".legend");
    if (legend && layout.showlegend) {
      var legendBox = legend.getBoundingClientRect();
      var below = all(canvas, ".slider-container").concat(
        all(canvas, ".updatemenu-header-group").filter(function (el) {
          return /play|pause/.test(el.textContent);
        })
      );
      var push = 0;
      below.forEach(function (el) {
        var box = el.getBoundingClientRect();
        if (overlap(box, legendBox) && box.top > legendBox.top) {
          push = Math.max(push, legendBox.bottom - box.top + 8);
        }
      });
      if (push) {
        fixes.belowShift = (fixes.belowShift || 0) + Math.ceil(push);
        changed = true;
      }
    }
    var contourLabels = shownBoxes(canvas, ".contourlabels text");
    var others = shownBoxes(canvas, ".textpoint text, g.annotation, .legendtext");
    var hitsOther = contourLabels.some(function (a) {
      return others.some(function (b) {
        return overlap(a, b);
      });
    });
    if (anyOverlap(contourLabels) || hitsOther) {
      fixes.hideContourLabels = true;
      changed = true;
    }
    changed = measureTitle(canvas, fixes) || changed;
    return measureLabels(canvas, fixes) || changed;
  }

  // Point labels (scatter text) that overlap: each label is kept only if it clears the
  // ones kept before it (the hover still names every point).
  function measureLabels(canvas, fixes) {
    var changed = false;
    // the axes' labels first: a point's label may not cover them either
    var kept = shownBoxes(canvas, "g[class$='tick'] text, .g-xtitle text, .g-ytitle text");
    all(canvas, ".scatterlayer .trace").forEach(function (group) {
      all(group, ".textpoint").forEach(function (point) {
        var text = point.querySelector("text");
        var datum = point.__data__ || {};
        if (!text || !text.textContent.trim() || !datum.trace && datum.i === undefined) {
          return;
        }
        var box = text.getBoundingClientRect();
        var trace = (group.__data__ && group.__data__[0] && group.__data__[0].trace) || {};
        if (kept.some(function (other) { return overlap(other, box); })) {
          fixes.hiddenLabels = fixes.hiddenLabels || {};
          var hidden = (fixes.hiddenLabels[trace.index] = fixes.hiddenLabels[trace.index] || []);
          if (hidden.indexOf(datum.i) < 0) {
            hidden.push(datum.i);
            changed = true;
          }
        } else {
          kept.push(box);
        }
      });
    });
    return changed;
  }

  function measure(canvas, fixes, pass) {
    return pass === 1 ? measureControls(canvas, fixes) : measureCollisions(canvas, fixes);
  }

  // --- applying them ---------------------------------------------------------------

  function margin(out, side, px) {
    var current = out.margin || {};
    var defaults = { t: 100, b: 80, l: 80, r: 80 };
    var update = {};
    update[side] = (current[side] === undefined ? defaults[side] : current[side]) + px;
    out.margin = Object.assign({}, current, update);
  }

  function thinned(axis, every) {
    if (Array.isArray(axis.tickvals)) {
      var keep = function (_, i) {
        return i % every === 0;
      };
      return {
        tickvals: axis.tickvals.filter(keep),
        ticktext: Array.isArray(axis.ticktext) ? axis.ticktext.filter(keep) : axis.ticktext,
      };
    }
    if (axis.type === "category" || typeof (axis.tickvals || axis.categoryarray) === "object") {
      return { dtick: every };
    }
    return { nticks: Math.max(2, Math.round(8 / every)) };
  }

  // `layout` with the narrow overrides (whole top-level keys) and the fixes applied.
  function layout(base, narrow, fixes) {
    var out = Object.assign({}, base, narrow || {});
    fixes = fixes || {};
    var extra = 0;
    var top = 0;
    if (fixes.title) {
      // Plotly draws a title's extra lines above its first: a top pad as high as them
      // brings the first back in.
      out.title = Object.assign({}, out.title, {
        text: fixes.title,
        pad: Object.assign({}, (out.title || {}).pad, { t: fixes.extraTop }),
      });
      top += fixes.extraTop;
    }
    top += fixes.annotationTop || 0;
    if (fixes.legendBelow) {
      out.legend = Object.assign({}, out.legend, {
        orientation: "v", x: 0, xanchor: "left", xref: "paper",
        y: 0, yanchor: "bottom", yref: "container",
      });
      margin(out, "b", fixes.legendBelow);
      extra += fixes.legendBelow;
    }
    if (fixes.marginLeft) {
      margin(out, "l", fixes.marginLeft);
    }
    if (top) {
      margin(out, "t", top);
      extra += top;
    }
    (fixes.dropdowns || []).forEach(function (index) {
      out.updatemenus = out.updatemenus.slice();
      out.updatemenus[index] = Object.assign({}, out.updatemenus[index], { type: "dropdown", direction: "down" });
    });
    Object.keys(fixes.menuShift || {}).forEach(function (index) {
      out.updatemenus = out.updatemenus.slice();
      var menu = out.updatemenus[index];
      out.updatemenus[index] = Object.assign({}, menu, { x: (menu.x || 0) + fixes.menuShift[index] });
    });
    (fixes.quietSliders || []).forEach(function (index) {
      // The steps' labels pile up: they are hidden, the current value above the rail names
      // the step. A transparent font hides them (the current value has its own colour).
      out.sliders = out.sliders.slice();
      var slider = out.sliders[index];
      out.sliders[index] = Object.assign({}, slider, {
        font: Object.assign({}, slider.font, { color: "rgba(0,0,0,0)" }),
        currentvalue: Object.assign({}, slider.currentvalue, {
          font: Object.assign({}, (slider.currentvalue || {}).font, { color: fixes.valueColour }),
        }),
        pad: Object.assign({}, slider.pad, { l: 0 }),
      });
    });
    // The play/pause pair and the slider move down, below a legend that grew on the narrow
    // canvas. (course_book.narrow_figures already put the pair under the slider.)
    var below = fixes.belowShift || 0;
    if (below) {
      out.updatemenus = (out.updatemenus || []).map(function (menu) {
        if (!isAnimationMenu(menu)) {
          return menu;
        }
        var pad = menu.pad || {};
        return Object.assign({}, menu, { pad: Object.assign({}, pad, { t: (pad.t || 0) + below }) });
      });
      out.sliders = (out.sliders || []).map(function (slider) {
        var pad = slider.pad || {};
        return Object.assign({}, slider, { pad: Object.assign({}, pad, { t: (pad.t || 0) + below }) });
      });
      margin(out, "b", below);
      extra += below;
    }
    if (fixes.annotations) {
      out.annotations = out.annotations.map(function (note, index) {
        var text = fixes.annotations[index];
        return text === undefined ? note : Object.assign({}, note, { text: text });
      });
    }
    Object.keys(fixes.axisTitles || {}).forEach(function (key) {
      var fix = fixes.axisTitles[key];
      var title = Object.assign({}, (out[key] || {}).title, { text: fix.text });
      out[key] = Object.assign({}, out[key], { title: title });
      margin(out, key[0] === "x" ? "b" : "l", fix.extra);
      extra += key[0] === "x" ? fix.extra : 0;
    });
    Object.keys(fixes.thin || {}).forEach(function (key) {
      out[key] = Object.assign({}, out[key], thinned(out[key] || {}, fixes.thin[key]));
    });
    Object.keys(fixes.standoff || {}).forEach(function (key) {
      out[key] = Object.assign({}, out[key], { ticklabelstandoff: fixes.standoff[key] });
    });
    if (extra && out.height) {
      out.height += extra;
    }
    return out;
  }

  // `data` with the fixes that concern traces: contour labels hidden, point labels thinned
  // (the hover still names every point).
  function data(traces, fixes) {
    if (!fixes || (!fixes.hideContourLabels && !fixes.hiddenLabels)) {
      return traces;
    }
    return restore(traces).map(function (trace, index) {
      var original = { contours: trace.contours, text: trace.text, hovertext: trace.hovertext,
                       hovertemplate: trace.hovertemplate };
      if (fixes.hideContourLabels && trace.type === "contour") {
        return Object.assign({}, trace, {
          _cuOriginal: original,
          contours: Object.assign({}, trace.contours, { showlabels: false }),
        });
      }
      var hidden = (fixes.hiddenLabels || {})[index];
      if (!hidden || !Array.isArray(trace.text)) {
        return trace;
      }
      return Object.assign({}, trace, {
        _cuOriginal: original,
        hovertext: trace.hovertext || trace.text,
        hovertemplate: (trace.hovertemplate || "").replace(/%\{text\}/g, "%{hovertext}") || undefined,
        text: trace.text.map(function (label, i) {
          return hidden.indexOf(i) >= 0 ? "" : label;
        }),
      });
    });
  }

  // The traces as the figure had them before data(...) changed them.
  function restore(traces) {
    return traces.map(function (trace) {
      if (!trace._cuOriginal) {
        return trace;
      }
      var out = Object.assign({}, trace, trace._cuOriginal);
      delete out._cuOriginal;
      return out;
    });
  }

  window.cuNarrow = { measure: measure, layout: layout, data: data, restore: restore, PASSES: 6 };
})();
