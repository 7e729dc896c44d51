/*
 * The lecture video player of the course book (the `video` directive).
 *
 * The page ships a locally drawn poster button, not a player: nothing is
 * fetched from YouTube until the reader clicks. A click on the poster, or on
 * one of the timestamp links below it, swaps the poster for a
 * youtube-nocookie.com iframe starting at that moment; a later timestamp click
 * points the same iframe at the new start. Without this script, the timestamp
 * links are ordinary links to youtu.be.
 *
 * Markup (written by course_book/video.py):
 *   .cu-video                                    one video
 *     .cu-video-player[data-cu-video][data-cu-start][data-cu-title]
 *       button.cu-video-poster[data-cu-video][data-cu-start][data-cu-title]
 *     a.cu-video-moment[data-cu-video][data-cu-start]   one per timestamp
 */
(function () {
  "use strict";

  var EMBED = "https://www.youtube-nocookie.com/embed/";
  var ALLOW =
    "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; " +
    "picture-in-picture; web-share";

  function embedUrl(videoId, start) {
    return (
      EMBED + encodeURIComponent(videoId) +
      "?start=" + (parseInt(start, 10) || 0) + "&autoplay=1&rel=0"
    );
  }

  // The player a poster or link belongs to: the one in the same .cu-video,
  // else the first player of the page that shows the same video.
  function playerFor(element, videoId) {
    var box = element.closest(".cu-video");
    var player = box && box.querySelector(".cu-video-player");
    if (player && player.getAttribute("data-cu-video") === videoId) return player;
    var players = document.querySelectorAll(".cu-video-player");
    for (var i = 0; i < players.length; i++) {
      if (players[i].getAttribute("data-cu-video") === videoId) return players[i];
    }
    return null;
  }

  function markActive(player, link) {
    var box = player.closest(".cu-video") || document;
    var links = box.querySelectorAll("a.cu-video-moment");
    for (var i = 0; i < links.length; i++) {
      links[i].classList.remove("cu-video-active");
      links[i].removeAttribute("aria-current");
    }
    if (link) {
      link.classList.add("cu-video-active");
      link.setAttribute("aria-current", "true");
    }
  }

  function play(player, start, link) {
    var videoId = player.getAttribute("data-cu-video");
    var iframe = player.querySelector("iframe");
    if (iframe) {
      iframe.src = embedUrl(videoId, start); // seek: reload the player at the new start
    } else {
      iframe = document.createElement("iframe");
      iframe.src = embedUrl(videoId, start);
      iframe.title = player.getAttribute("data-cu-title") || "Lecture video";
      iframe.setAttribute("loading", "lazy");
      iframe.setAttribute("allow", ALLOW);
      iframe.setAttribute("allowfullscreen", "");
      iframe.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      var hadFocus = player.contains(document.activeElement);
      player.replaceChildren(iframe);
      player.classList.add("cu-video-playing");
      if (hadFocus) iframe.focus(); // the poster button is gone: keep keyboard focus nearby
    }
    markActive(player, link);
    if (link && player.scrollIntoView) {
      var rect = player.getBoundingClientRect();
      if (rect.top < 0 || rect.bottom > window.innerHeight) {
        player.scrollIntoView({ block: "nearest" });
      }
    }
  }

  document.addEventListener("click", function (event) {
    // Leave modified clicks (new tab, new window) and other buttons to the browser.
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var target = event.target.closest(".cu-video-poster, a.cu-video-moment");
    if (!target) return;
    var videoId = target.getAttribute("data-cu-video");
    var player = videoId && playerFor(target, videoId);
    if (!player) return; // no player on this page: let the link go to youtu.be
    event.preventDefault();
    var isLink = target.tagName === "A";
    play(player, target.getAttribute("data-cu-start"), isLink ? target : null);
  });
})();
