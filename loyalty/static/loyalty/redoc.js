"use strict";
// Starts Redoc on the API docs page (templates/drf_spectacular/redoc.html) without an inline script.
(function () {
  const container = document.getElementById("redoc-container");
  // Redoc's sidebar footer shows Redocly's logo from cdn.redoc.ly. The Content-Security-Policy would refuse
  // it (a violation in the console) and the docs ask no other host for anything: the image gets an empty
  // data: URL instead, fails to load, and Redoc leaves it out, as it does offline.
  const offline = (value) => (String(value).startsWith("https://cdn.redoc.ly/") ? "data:," : value);
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, this instanceof HTMLImageElement && name === "src" ? offline(value) : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, offline(value));
    },
  });
  // The script's nonce lets the <style> elements Redoc writes (styled-components) through the policy.
  Redoc.init(container.dataset.specUrl, { nonce: document.currentScript.nonce }, container);
})();
