/* Loads a page's heavy scripts (plotly.js, MathJax) only when what they draw comes near.
 *
 * Inlined into <head> by course_book.page_assets, after a line that sets
 * window.cuLazyScripts = [{src, id, selector, first}, ...]. For each entry it watches the elements
 * that match `selector` as the parser adds them, and appends <script async src=src id=id>
 * as soon as one of them is within half a screen of the viewport: at once for what the
 * first screen shows, when the reader scrolls towards it for the rest, never for a part of
 * the page nobody reaches. Without IntersectionObserver everything loads at once.
 *
 * An entry marked `first` (plotly.js) goes ahead of the others: while it is loading, the
 * others wait, so that the browser evaluates it and draws the figure in view before it
 * spends the main thread on the rest (MathJax's typesetting takes a few hundred ms).
 */
(function () {
  "use strict";
  var entries = window.cuLazyScripts || [];
  var canObserve = "IntersectionObserver" in window && "MutationObserver" in window;

  var firstLoading = 0; // entries marked `first` added and not yet loaded
  var waiting = []; // the others, asked for meanwhile

  function add(entry) {
    var script = document.createElement("script");
    script.src = entry.src;
    script.async = true;
    if (entry.id) {
      script.id = entry.id;
    }
    if (entry.first) {
      firstLoading += 1;
      script.addEventListener("load", done);
      script.addEventListener("error", done);
    }
    document.head.appendChild(script);
  }

  function done() {
    firstLoading -= 1;
    if (firstLoading === 0) {
      waiting.splice(0).forEach(add);
    }
  }

  function load(entry) {
    if (entry.loaded) {
      return;
    }
    entry.loaded = true;
    if (!entry.first && firstLoading > 0) {
      waiting.push(entry);
    } else {
      add(entry);
    }
  }

  entries.forEach(function (entry) {
    if (!canObserve) {
      load(entry);
      return;
    }
    var seen = typeof WeakSet === "function" ? new WeakSet() : null;
    var near = new IntersectionObserver(
      function (changes) {
        if (changes.some(function (change) { return change.isIntersecting; })) {
          near.disconnect();
          parsing.disconnect();
          load(entry);
        }
      },
      { rootMargin: "50% 0px" }
    );
    function watch(root) {
      var found = root.matches && root.matches(entry.selector) ? [root] : [];
      if (root.querySelectorAll) {
        found = found.concat(Array.prototype.slice.call(root.querySelectorAll(entry.selector)));
      }
      found.forEach(function (el) {
        if (!seen || !seen.has(el)) {
          if (seen) {
            seen.add(el);
          }
          near.observe(el);
        }
      });
    }
    var parsing = new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        Array.prototype.forEach.call(mutation.addedNodes, function (node) {
          if (node.nodeType === 1) {
            watch(node);
          }
        });
      });
    });
    parsing.observe(document.documentElement, { childList: true, subtree: true });
    document.addEventListener("DOMContentLoaded", function () {
      parsing.disconnect();
      if (!entry.loaded) {
        watch(document.documentElement);
      }
    });
  });
})();
