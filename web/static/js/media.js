// Attachments shown inline: downloaded with the bearer token (they are never public), turned
// into blob: URLs, and shown as an image or a video player.

import { h, setText } from "./dom.js";
import { fileSize } from "./format.js";

const loaded = new Map(); // attachment url → Promise<blob: URL>

export function isPreviewable(type) {
  return /^(image|video)\//.test(type || "");
}

/** A <figure> that fills itself in once the file has been fetched. */
export function attachmentView(attachment, api) {
  const status = h("span", { class: "la-attachment__status", i18n: "attachment.loading" });
  const caption = h("figcaption", {},
    h("span", { class: "la-attachment__name", text: attachment.filename }),
    h("span", { class: "la-attachment__size", text: fileSize(attachment.size || 0) }));
  const figure = h("figure", { class: "la-attachment", dataset: { state: "loading" } },
    status, caption);
  blobUrl(attachment, api).then((url) => {
    const media = attachment.content_type.startsWith("video/")
      ? h("video", { src: url, controls: true, preload: "metadata", playsInline: true })
      : h("img", { src: url, alt: attachment.filename, decoding: "async" });
    const link = attachment.content_type.startsWith("image/")
      ? h("a", { href: url, target: "_blank", rel: "noopener", class: "la-attachment__open" },
        media)
      : media;
    status.replaceWith(link);
    figure.dataset.state = "loaded";
  }, () => {
    setText(status, "attachment.failed");
    figure.dataset.state = "failed";
  });
  return figure;
}

function blobUrl(attachment, api) {
  const key = api.base + attachment.url;
  if (!loaded.has(key)) {
    const promise = api.blob(attachment.url).then((blob) => URL.createObjectURL(blob));
    promise.catch(() => loaded.delete(key));
    loaded.set(key, promise);
  }
  return loaded.get(key);
}
