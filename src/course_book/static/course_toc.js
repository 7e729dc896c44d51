/* The "On this page" highlight follows the reading position (course_book.theme).
 *
 * pydata-sphinx-theme highlights an entry when an IntersectionObserver reports its heading
 * entering the top 30% of the viewport. It reports only crossings, so the highlight lags:
 * scrolling up, the section above is never highlighted until its own heading comes back into
 * that band (the reader is well into it by then), and a heading carried past the band between
 * two frames (a fast scroll, a jump) is never reported at all.
 *
 * Here the highlighted entry is worked out from where the headings are, on every scroll
 * (once a frame) and layout change: the section whose heading was last scrolled past the top
 * third of the viewport; none above the first heading; at the very end of the page, where the
 * last headings cannot reach the top third, the last heading in view. After an in-page link
 * is followed, its
 * entry stays highlighted until the reader scrolls on (a short last section can never reach
 * the top third). The theme's own observer still runs; whatever it changes in the table of
 * contents is put back. The classes are the theme's: ``active`` on the link and on every
 * ``li.toc-entry`` that holds it (which unfolds the nested entries), ``aria-current`` on the
 * link.
 */
(() => {
  "use strict";
  const toc = document.querySelector("#pst-page-toc-nav");
  if (!toc || !window.requestAnimationFrame) return;
  const links = [...toc.querySelectorAll("a[href^='#']")];
  const entries = [...toc.querySelectorAll(".toc-entry")];
  const sections = []; // {heading, link}, in the order of the document
  for (const link of links) {
    const id = decodeURIComponent(link.getAttribute("href").slice(1));
    const target = id && document.getElementById(id);
    if (!target) continue;
    sections.push({ heading: target.querySelector("h1, h2, h3, h4, h5, h6") || target, link });
  }
  if (!sections.length) return;
  sections.sort((a, b) =>
    a.heading.compareDocumentPosition(b.heading) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1,
  );

  const PIN_MS = 1000; // how long a followed link's scroll may take (smooth scrolling)
  const UNPIN_PX = 48; // how far the reader scrolls on before the position decides again
  let pin = null; // {link, since, y}: the entry of a followed in-page link

  function pinHash(hash) {
    const found = sections.find((s) => s.link.hash === hash);
    pin = found ? { link: found.link, since: performance.now(), y: window.scrollY } : null;
  }

  function chosen() {
    if (pin) {
      if (performance.now() - pin.since < PIN_MS) {
        pin.y = window.scrollY; // still arriving
        return pin.link;
      }
      if (Math.abs(window.scrollY - pin.y) < UNPIN_PX) return pin.link;
      pin = null;
    }
    // At the end of the page the last headings can never reach the top third: there the
    // last heading in view is the one being read.
    const end = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    const line = end ? window.innerHeight : window.innerHeight / 3;
    let link = null;
    for (const section of sections) {
      if (section.heading.getBoundingClientRect().top > line) break;
      link = section.link;
    }
    return link;
  }

  function highlighted(link) {
    return (
      links.every((a) => a.classList.contains("active") === (a === link)) &&
      entries.every((li) => li.classList.contains("active") === (!!link && li.contains(link)))
    );
  }

  function update() {
    scheduled = false;
    const link = chosen();
    if (highlighted(link)) return;
    for (const a of links) {
      a.classList.toggle("active", a === link);
      if (a === link) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    }
    for (const li of entries) li.classList.toggle("active", !!link && li.contains(link));
  }

  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    window.requestAnimationFrame(update);
  }

  document.addEventListener("click", (event) => {
    const a = event.target.closest && event.target.closest("a[href^='#']");
    if (a && a.origin === window.location.origin && a.pathname === window.location.pathname) {
      pinHash(a.hash);
      schedule();
    }
  });
  window.addEventListener("hashchange", () => {
    pinHash(window.location.hash);
    schedule();
  });
  window.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", schedule);
  if (window.ResizeObserver) new ResizeObserver(schedule).observe(document.body);
  // The theme's observer writes its choice after ours: put ours back before it is painted.
  new MutationObserver(update).observe(toc, {
    subtree: true,
    attributes: true,
    attributeFilter: ["class"],
  });
  if (window.location.hash) pinHash(window.location.hash);
  schedule();
})();
