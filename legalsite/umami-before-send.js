/*
 * Umami before-send hook for the legal site: data minimisation in the browser.
 *
 * The site serves this file from its own origin (e.g. /assets/umami-before-send.js)
 * and loads it BEFORE the tracker, both with `defer` so they run in order:
 *
 *   <script defer src="/assets/umami-before-send.js"></script>
 *   <script defer src="https://stats.example.org/s.js"
 *           data-website-id="..."
 *           data-domains="example.org" data-do-not-track="true"
 *           data-exclude-search="true" data-exclude-hash="true"
 *           data-identity-stitching="false"
 *           data-before-send="umamiBeforeSend"></script>
 *
 * (legalsite/tracker_tag.py makes these tags for the site and for `provision.py --html`.)
 * data-identity-stitching="false" matters: newer trackers otherwise keep a visitor
 * id in localStorage ("umami.visitor"), which the policy's "no storage" forbids.
 *
 * Umami's tracker calls window[data-before-send](type, payload) before every send
 * and sends what it returns; a falsy return cancels the send. This hook passes on
 * only what the privacy policy names: the page (path only), the referring site
 * (origin only) and the site's own hostname and website id. Screen size, language,
 * page title, tags, identities and event data are dropped, and so is everything
 * that is not a plain page view (custom events, identify calls, anything new).
 * Country is derived by Umami from the connection, browser/OS/device from the
 * User-Agent header, which a page cannot remove: see umami/DATA.md.
 */
(function (window) {
  'use strict';

  function pathOnly(value) {
    if (typeof value !== 'string' || value === '') return undefined;
    try {
      var url = new URL(value, window.location.href);
      return url.pathname || '/';
    } catch (e) {
      return value.split(/[?#]/)[0] || '/';
    }
  }

  function originOnly(value) {
    if (typeof value !== 'string' || value === '') return undefined;
    try {
      var url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
      return url.origin + '/';
    } catch (e) {
      return undefined;
    }
  }

  window.umamiBeforeSend = function (type, payload) {
    if (type !== 'event' || !payload || typeof payload !== 'object') return false;
    if (payload.name !== undefined || payload.data !== undefined) return false; // custom events
    if (typeof payload.website !== 'string' || payload.website === '') return false;
    var minimal = { website: payload.website };
    if (typeof payload.hostname === 'string') minimal.hostname = payload.hostname;
    var url = pathOnly(payload.url);
    if (url !== undefined) minimal.url = url;
    var referrer = originOnly(payload.referrer);
    if (referrer !== undefined) minimal.referrer = referrer;
    return minimal;
  };
})(window);
