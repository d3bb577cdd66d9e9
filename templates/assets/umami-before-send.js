/*
 * Before-send hook for the self-hosted Umami tracker (its data-before-send
 * attribute names the function below). Umami calls it with (type, payload)
 * before every send and sends what it returns; a falsy value sends nothing.
 *
 * The privacy policy promises page views, referrers and coarse country only, so
 * only a page view goes out, with just these fields: website, hostname, the page
 * address without query or fragment, and the referring site's origin. Screen
 * size, language, title, visitor and session ids, events and their data are
 * dropped. Served from the site itself; included only in pages that load the
 * tracker. The build adds nothing to this file.
 */
(function (global) {
  "use strict";

  function withoutQueryOrFragment(address) {
    try {
      var parsed = new URL(address, global.location.href);
      parsed.search = "";
      parsed.hash = "";
      return parsed.toString();
    } catch (error) {
      return undefined;
    }
  }

  function originOnly(address) {
    try {
      var origin = new URL(address).origin;
      return origin === "null" ? undefined : origin + "/";
    } catch (error) {
      return undefined;
    }
  }

  global.legalSiteBeforeSend = function (type, payload) {
    if (type !== "event" || !payload || payload.name || payload.data) {
      return false;
    }
    var out = {
      website: payload.website,
      hostname: payload.hostname,
      url: withoutQueryOrFragment(payload.url)
    };
    if (payload.referrer) {
      out.referrer = originOnly(payload.referrer);
    }
    return out;
  };
})(window);
