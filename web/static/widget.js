// LiveAssist chat widget loader. Embed with one tag on any page:
//   <script src="https://support.example.com/widget.js" data-org="demo" async></script>
// Optional: data-name, data-email (prefill), data-external-id + data-signature (a customer
// your site has signed in; signature = HMAC-SHA256 of the external id with the org's secret).
// The widget's code and styles come from the same server as this file.
(function loadLiveAssist() {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__liveAssistWidget) return;
  window.__liveAssistWidget = true;
  var base = new URL("./", script.src).href.replace(/\/$/, "");
  var data = script.dataset;
  var options = {
    base: base,
    org: data.org || "demo",
    name: data.name || "",
    email: data.email || "",
    identity: data.externalId && data.signature
      ? { external_id: data.externalId, signature: data.signature }
      : null,
  };
  function start() {
    import(base + "/static/js/widget/main.js").then(function (widget) {
      widget.mount(options);
    }).catch(function (error) {
      console.error("LiveAssist widget could not load", error);
    });
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
