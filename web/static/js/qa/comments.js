// Review comments pinned to moments of the call: written at the player's position (the button
// says which), listed in media-time order with a button that seeks there, and changed or
// deleted by their author or an admin.
//
// Events: "seek" (ms), "changed" (after any add, edit or delete: the review is reloaded).

import { h, replace, setText } from "../dom.js";
import { Emitter } from "../emitter.js";
import { errorMessage } from "../errors.js";
import { mediaTime } from "./evidence.js";

export class CommentsPanel extends Emitter {
  constructor({ api, user, position }) {
    super();
    this.api = api;
    this.user = user;
    this.position = position; // () => ms
    this.review = null;
    this.editing = null;
    this.text = h("textarea", { id: "qa-comment-text", rows: 2, maxLength: 2000 });
    this.add = h("button", { type: "submit", class: "button button--small" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.form = h("form", { class: "qa-comment-form" },
      h("label", { for: "qa-comment-text", i18n: "qa.comment" }), this.text, this.error, this.add);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    this.list = h("ol", { class: "qa-comments" });
    this.el = h("section", { class: "qa-comments-panel panel", "aria-labelledby": "qa-comments-title",
      hidden: true },
    h("h3", { id: "qa-comments-title", i18n: "qa.comments" }), this.form, this.list);
    this.follow(0);
  }

  /** The button names the moment the comment will be pinned to. */
  follow(position) {
    const at = mediaTime(position);
    if (this.add.dataset.at !== at) {
      this.add.dataset.at = at;
      setText(this.add, "qa.addComment", { at });
    }
  }

  setReview(review) {
    this.review = review;
    this.el.hidden = !review;
    if (review) this.render();
  }

  render() {
    const mayEdit = (c) => this.user.role === "admin" || c.author_id === this.user.id;
    replace(this.list, this.review.comments.map((comment) => h("li", { class: "qa-comment",
      dataset: { id: comment.id } },
    h("button", { type: "button", class: "link qa-comment__at", text: mediaTime(comment.at_ms),
      i18nAttrs: { "aria-label": "qa.seekTo" }, i18nArgs: { at: mediaTime(comment.at_ms) },
      onclick: () => this.emit("seek", comment.at_ms) }),
    h("span", { class: "qa-comment__who", text: comment.author_name || "—" }),
    this.editing === comment.id ? this.editor(comment) : h("p", { class: "qa-comment__text", text: comment.text }),
    mayEdit(comment) && this.editing !== comment.id ? h("span", { class: "qa-comment__actions" },
      h("button", { type: "button", class: "button button--small button--quiet", i18n: "qa.edit",
        onclick: () => {
          this.editing = comment.id;
          this.render();
          this.list.querySelector("textarea").focus();
        } }),
      h("button", { type: "button", class: "button button--small button--danger-quiet", i18n: "qa.delete",
        onclick: () => this.remove(comment) })) : null)));
    if (this.review.comments.length === 0) this.list.append(h("li", { class: "muted", i18n: "qa.noComments" }));
  }

  editor(comment) {
    const box = h("textarea", { rows: 2, maxLength: 2000, value: comment.text,
      i18nAttrs: { "aria-label": "qa.editComment" } });
    return h("form", { class: "qa-comment__editor", onsubmit: (event) => {
      event.preventDefault();
      this.update(comment, box.value);
    } }, box,
    h("button", { type: "submit", class: "button button--small", i18n: "common.save" }),
    h("button", { type: "button", class: "button button--small button--quiet", i18n: "common.cancel",
      onclick: () => {
        this.editing = null;
        this.render();
      } }));
  }

  async create() {
    const text = this.text.value.trim();
    if (!text) {
      this.text.focus();
      return;
    }
    const at = Math.round(this.position());
    await this.run(() => this.api.post(`/api/reviews/${this.review.id}/comments`, { at_ms: at, text }));
    if (this.error.hidden) this.text.value = "";
  }

  async update(comment, text) {
    this.editing = null;
    await this.run(() => this.api.patch(`/api/reviews/${this.review.id}/comments/${comment.id}`, { text }));
  }

  async remove(comment) {
    await this.run(() => this.api.request("DELETE",
      `/api/reviews/${this.review.id}/comments/${comment.id}`));
  }

  async run(request) {
    this.error.hidden = true;
    try {
      await request();
    } catch (error) {
      this.error.textContent = errorMessage(error);
      this.error.hidden = false;
      return;
    }
    this.emit("changed");
  }
}
