/*
 * Test stand-in for Umami's tracker script (written for these tests, not Umami's
 * code). It behaves like Umami 3.x's tracker (src/tracker/index.js) in everything
 * the privacy promises depend on, so a page that would leak with the real tracker
 * leaks with this one too:
 *  - reads data-website-id, data-host-url, data-domains, data-do-not-track,
 *    data-exclude-search, data-exclude-hash, data-before-send, data-auto-track,
 *    data-identity-stitching and data-fetch-credentials from its own tag;
 *  - unless data-identity-stitching="false", keeps a visitor id in localStorage
 *    ("umami.visitor") as soon as it runs, whatever Do-Not-Track says;
 *  - sends nothing when Do-Not-Track is on and data-do-not-track="true", or the
 *    host name is not in data-domains;
 *  - builds the payload (website, screen, language, title, hostname, url,
 *    referrer, vid), passes it through window[data-before-send](type, payload)
 *    and POSTs {type, payload} as JSON to <host>/api/send with credentials "omit".
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    return;
  }
  function attr(name) {
    return script.getAttribute("data-" + name);
  }
  var website = attr("website-id");
  var beforeSend = attr("before-send");
  var honourDnt = attr("do-not-track") === "true";
  var excludeSearch = attr("exclude-search") === "true";
  var excludeHash = attr("exclude-hash") === "true";
  var domainList = attr("domains") || "";
  var domains = domainList.split(",").map(function (d) { return d.trim(); });
  var host = attr("host-url") || script.src.split("/").slice(0, -1).join("/");
  var endpoint = host.replace(/\/$/, "") + "/api/send";
  var credentials = attr("fetch-credentials") || "omit";

  var visitor;
  if (attr("identity-stitching") !== "false") {
    try {
      visitor = window.localStorage.getItem("umami.visitor");
      if (!visitor) {
        visitor = window.crypto.randomUUID();
        window.localStorage.setItem("umami.visitor", visitor);
      }
    } catch (error) {
      visitor = undefined;
    }
  }

  function normalize(raw) {
    if (!raw) {
      return raw;
    }
    var parsed = new URL(raw, window.location.href);
    if (excludeSearch) { parsed.search = ""; }
    if (excludeHash) { parsed.hash = ""; }
    return parsed.toString();
  }

  function doNotTrack() {
    var value = window.doNotTrack || navigator.doNotTrack || navigator.msDoNotTrack;
    return value === 1 || value === "1" || value === "yes";
  }

  function disabled() {
    return !website || (domainList && domains.indexOf(window.location.hostname) < 0) || (honourDnt && doNotTrack());
  }

  var referrer = document.referrer.indexOf(window.location.origin) === 0 ? "" : document.referrer;

  function payload() {
    return {
      website: website,
      screen: window.screen.width + "x" + window.screen.height,
      language: navigator.language,
      title: document.title,
      hostname: window.location.hostname,
      url: normalize(window.location.href),
      referrer: normalize(referrer),
      vid: visitor
    };
  }

  function send(data, type) {
    if (disabled()) {
      return Promise.resolve();
    }
    var hook = window[beforeSend];
    var ready = typeof hook === "function" ? Promise.resolve(hook(type, data)) : Promise.resolve(data);
    return ready.then(function (body) {
      if (!body) {
        return undefined;
      }
      return fetch(endpoint, {
        keepalive: true,
        method: "POST",
        body: JSON.stringify({ type: type, payload: body }),
        headers: { "Content-Type": "application/json" },
        credentials: credentials
      }).catch(function () { return undefined; });
    });
  }

  function track(name, data) {
    var body = payload();
    if (typeof name === "string") {
      body.name = name;
      body.data = data;
    }
    return send(body, "event");
  }

  window.umami = { track: track };
  var started = false;
  function start() {
    if (!started && document.readyState === "complete") {
      started = true;
      track();
    }
  }
  if (attr("auto-track") !== "false" && !disabled()) {
    if (document.readyState === "complete") {
      start();
    } else {
      document.addEventListener("readystatechange", start, true);
    }
  }
})();
