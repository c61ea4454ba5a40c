// /help?org=<slug>&article=<id>: one published article on a page of its own — what the
// links agents insert into replies open (web/static/js/agent/kbpanel.js).

import "./kbstrings.js";
import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import { errorMessage } from "./errors.js";
import { startSitePage } from "./sitepage.js";

startSitePage();

const main = document.getElementById("help-main");
const params = new URLSearchParams(location.search);
const id = Number(params.get("article"));

async function show() {
  try {
    if (!params.get("org") || !Number.isInteger(id) || id < 1) {
      throw new Error("This link names no article.");
    }
    const article = await new Api("").get(`/api/widget/kb/articles/${id}`,
      { org: params.get("org") });
    const content = h("div", { class: "help-article__body" });
    content.innerHTML = article.html; // sanitised server-side (signaling/kb/markdown.py)
    document.title = article.title;
    replace(main, h("article", { class: "help-article",
      lang: article.language === "zh" ? "zh-CN" : "en" },
    h("h1", { text: article.title }), content));
  } catch (error) {
    replace(main, h("p", { class: "form-error", role: "alert", text: errorMessage(error) }));
  }
}

show();
