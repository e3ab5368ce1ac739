// Times in the reader's own zone and language. Pages write each moment as
// <time datetime="2026-11-25T14:03:00Z" data-local>2026-11-25 14:03 UTC</time>
// (UTC, readable without script); this rewrites the text of every such
// element with Intl.DateTimeFormat. data-local="date" shows the date alone.
// Used by the sign-in pages and the admin portal alike.
"use strict";
(() => {
  // The page's language, in the browser's preferred regional form of it
  // (en-GB for a British reader of an English page).
  const locales = () => {
    const lang = document.documentElement.lang || "en";
    const own = (navigator.languages ?? []).filter((l) => l.split("-")[0] === lang.split("-")[0]);
    return [...own, lang];
  };

  const formats = {
    "": { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    date: { year: "numeric", month: "short", day: "numeric" },
  };

  function localise(root) {
    const cache = {};
    for (const el of root.querySelectorAll("time[data-local]")) {
      const when = new Date(el.dateTime);
      if (Number.isNaN(when.getTime())) continue;
      const kind = el.dataset.local in formats ? el.dataset.local : "";
      cache[kind] ??= new Intl.DateTimeFormat(locales(), formats[kind]);
      if (!el.title) el.title = el.textContent;
      el.textContent = cache[kind].format(when);
    }
  }

  window.onrampLocalTimes = localise;
  document.addEventListener("DOMContentLoaded", () => localise(document));
})();
