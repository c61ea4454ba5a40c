// Rubrics, for admins in the console: what calls are scored on, per group and an
// organisation default. Criteria have a weight and a scale (yes/no, 1–3 … 0–10) and may be
// optional. Saving changed criteria makes a new version; reviews keep the version they were
// scored on, and every version stays readable here.

import "../qa/strings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { dateTime } from "../format.js";

const SCALES = ["yes_no", "1-3", "1-4", "1-5", "1-10", "0-10"];
const BLANK = { title: "", description: "", weight: 1, scale: "1-5", optional: false };

export class RubricsView {
  constructor({ api }) {
    this.api = api;
    this.rubrics = [];
    this.groups = [];
    this.current = null; // the rubric being edited (with versions), or {} for a new one
    this.criteria = [];
    this.draft = { name: "", groupId: "" }; // what the form holds but has not saved
    this.archived = h("input", { type: "checkbox", id: "rubrics-archived", onchange: () => this.load() });
    this.list = h("ul", { class: "rubric-list" });
    this.editor = h("div", { class: "rubric-editor", "aria-live": "polite" },
      h("p", { class: "empty", i18n: "rubrics.pick" }));
    this.el = h("div", { class: "rubrics-view" },
      h("div", { class: "rubrics-list" },
        h("h2", { id: "rubrics-title", i18n: "rubrics.title" }),
        h("p", { class: "muted", i18n: "rubrics.intro" }),
        h("div", { class: "rubrics-list__tools" },
          h("button", { type: "button", class: "button button--primary", i18n: "rubrics.new",
            onclick: () => this.edit(null) }),
          h("span", { class: "field--inline" }, this.archived,
            h("label", { for: "rubrics-archived", i18n: "rubrics.showArchived" }))),
        this.list),
      this.editor);
  }

  async load() {
    try {
      const [rubrics, groups] = await Promise.all([
        this.api.get("/api/rubrics", { include_archived: this.archived.checked ? "true" : "" }),
        this.api.get("/api/groups"),
      ]);
      this.rubrics = rubrics.items;
      this.groups = groups.items;
    } catch (error) {
      replace(this.list, h("li", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    replace(this.list, this.rubrics.map((rubric) => h("li", {},
      h("button", { type: "button", class: ["link", "rubric-list__item",
        this.current && this.current.id === rubric.id ? "is-open" : ""],
      onclick: () => this.edit(rubric.id) },
      h("span", { class: "rubric-list__name", text: rubric.name }),
      this.scopeLabel(rubric.group_id),
      h("span", { class: "muted", i18n: "rubrics.versionN", i18nArgs: { n: rubric.version } }),
      rubric.archived ? h("span", { class: "badge", i18n: "rubrics.archived" }) : null))));
    if (this.rubrics.length === 0) this.list.append(h("li", { class: "muted", i18n: "rubrics.none" }));
  }

  scopeLabel(groupId) {
    if (groupId === null) return h("span", { class: "muted", i18n: "rubrics.orgDefault" });
    const group = this.groups.find((g) => g.id === groupId);
    return h("span", { class: "muted", text: group ? group.name : `#${groupId}` });
  }

  async edit(id) {
    if (id === null) {
      this.current = {};
      this.criteria = [{ ...BLANK }];
      this.draft = { name: "", groupId: "" };
    } else {
      try {
        this.current = await this.api.get(`/api/rubrics/${id}`);
      } catch (error) {
        replace(this.editor, h("p", { class: "form-error", text: errorMessage(error) }));
        return;
      }
      this.adopt(this.current);
    }
    this.render();
    const heading = this.editor.querySelector("h3");
    if (heading) heading.focus();
    this.load();
  }

  render(note = null) {
    const rubric = this.current;
    const isNew = !rubric.id;
    const name = h("input", { id: "rubric-name", required: true, maxLength: 200,
      value: this.draft.name, oninput: (event) => {
        this.draft.name = event.currentTarget.value;
      } });
    const scope = h("select", { id: "rubric-scope", disabled: !isNew, onchange: (event) => {
      this.draft.groupId = event.currentTarget.value;
    } },
    h("option", { value: "", i18n: "rubrics.orgDefault" }),
    this.groups.map((g) => h("option", { value: g.id, text: g.name,
      selected: String(this.draft.groupId) === String(g.id) })));
    const status = h("p", { class: "form-note", role: "status" });
    if (note) setText(status, note);
    const form = h("form", { class: "rubric-form", novalidate: true },
      h("h3", { id: "rubric-editor-title", tabindex: -1,
        i18n: isNew ? "rubrics.newTitle" : "rubrics.editTitle",
        i18nArgs: { name: rubric.name || "", version: rubric.version || 1 } }),
      h("div", { class: "field-row" },
        h("div", { class: "field" }, h("label", { for: "rubric-name", i18n: "rubrics.name" }), name),
        h("div", { class: "field" }, h("label", { for: "rubric-scope", i18n: "rubrics.scope" }), scope)),
      h("fieldset", { class: "rubric-criteria" },
        h("legend", { i18n: "rubrics.criteria" }),
        h("ol", {}, this.criteria.map((criterion, index) => this.criterionRow(criterion, index))),
        h("button", { type: "button", class: "button button--small", i18n: "rubrics.addCriterion",
          onclick: () => {
            this.criteria.push({ ...BLANK });
            this.render();
            const titles = this.editor.querySelectorAll(".rubric-criterion__title");
            titles[titles.length - 1].focus();
          } })),
      h("p", { class: "muted", i18n: isNew ? "rubrics.firstVersion" : "rubrics.newVersion" }),
      h("div", { class: "form-actions" }, status,
        isNew ? null : h("button", { type: "button", class: "button",
          i18n: rubric.archived ? "rubrics.restore" : "rubrics.archive",
          onclick: () => this.save({ archived: !rubric.archived }) }),
        h("button", { type: "submit", class: "button button--primary", i18n: "common.save" })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const missing = !name.value.trim() ? name
        : [...form.querySelectorAll(".rubric-criterion__title")].find((el) => !el.value.trim());
      if (missing) {
        this.fail(null, missing === name ? "rubrics.nameNeeded" : "rubrics.titleNeeded");
        missing.focus();
        return;
      }
      const body = { name: name.value.trim(), criteria: this.criteria.map(clean) };
      if (isNew) this.create({ ...body, group_id: scope.value ? Number(scope.value) : null });
      else this.save({ ...body, version: rubric.version });
    });
    replace(this.editor, form, isNew ? null : this.versions());
  }

  criterionRow(criterion, index) {
    const id = (part) => `criterion-${index}-${part}`;
    const bind = (key, read) => (event) => {
      this.criteria[index][key] = read(event.currentTarget);
    };
    const move = (step) => {
      const to = index + step;
      if (to < 0 || to >= this.criteria.length) return;
      [this.criteria[index], this.criteria[to]] = [this.criteria[to], this.criteria[index]];
      this.render();
      this.editor.querySelectorAll(".rubric-criterion")[to].querySelector("input").focus();
    };
    return h("li", { class: "rubric-criterion" },
      h("div", { class: "field rubric-criterion__main" },
        h("label", { for: id("title"), i18n: "rubrics.criterionTitle", i18nArgs: { n: index + 1 } }),
        h("input", { id: id("title"), class: "rubric-criterion__title", maxLength: 200,
          value: criterion.title, oninput: bind("title", (el) => el.value) })),
      h("div", { class: "field rubric-criterion__description" },
        h("label", { for: id("description"), i18n: "rubrics.description" }),
        h("input", { id: id("description"), maxLength: 1000, value: criterion.description,
          oninput: bind("description", (el) => el.value) })),
      h("div", { class: "field" },
        h("label", { for: id("weight"), i18n: "rubrics.weight" }),
        h("input", { id: id("weight"), type: "number", min: 0.1, max: 100, step: "0.1",
          value: criterion.weight, oninput: bind("weight", (el) => Number(el.value)) })),
      h("div", { class: "field" },
        h("label", { for: id("scale"), i18n: "rubrics.scale" }),
        h("select", { id: id("scale"), onchange: bind("scale", (el) => el.value) },
          SCALES.map((scale) => h("option", { value: scale, selected: scale === criterion.scale,
            i18n: `rubrics.scale.${scale}` })))),
      h("div", { class: "field field--inline" },
        h("input", { type: "checkbox", id: id("optional"), checked: criterion.optional,
          onchange: bind("optional", (el) => el.checked) }),
        h("label", { for: id("optional"), i18n: "rubrics.optional" })),
      h("div", { class: "rubric-criterion__tools" },
        h("button", { type: "button", class: "button button--small button--quiet", i18n: "rubrics.up",
          disabled: index === 0, onclick: () => move(-1) }),
        h("button", { type: "button", class: "button button--small button--quiet", i18n: "rubrics.down",
          disabled: index === this.criteria.length - 1, onclick: () => move(1) }),
        h("button", { type: "button", class: "button button--small button--danger-quiet",
          i18n: "rubrics.remove", disabled: this.criteria.length === 1, onclick: () => {
            this.criteria.splice(index, 1);
            this.render();
          } })));
  }

  versions() {
    return h("section", { class: "rubric-versions", "aria-labelledby": "rubric-versions-title" },
      h("h4", { id: "rubric-versions-title", i18n: "rubrics.versions" }),
      h("ol", { class: "timeline" }, this.current.versions.map((version) => h("li", {},
        h("time", { datetime: version.created_at, text: dateTime(version.created_at) }),
        h("span", { class: "timeline__who", text: version.created_by_name || "—" }),
        h("details", { class: "timeline__what" },
          h("summary", { i18n: "rubrics.versionLine", i18nArgs: { n: version.version,
            name: version.name, count: version.criteria.length } }),
          h("ul", {}, version.criteria.map((c) => h("li", {}, c.title, ` · ×${c.weight} · `,
            h("span", { i18n: `rubrics.scale.${c.scale}` }),
            c.optional ? [" · ", h("span", { i18n: "rubrics.optional" })] : null))))))));
  }

  async create(body) {
    try {
      this.current = await this.api.post("/api/rubrics", body);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.adopt(this.current);
    this.render("common.saved");
    this.load();
  }

  async save(changes) {
    try {
      this.current = await this.api.patch(`/api/rubrics/${this.current.id}`, changes);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.adopt(this.current);
    this.render("common.saved");
    this.load();
  }

  /** Edit from this saved rubric. */
  adopt(rubric) {
    this.criteria = rubric.criteria.map((c) => ({ ...c }));
    this.draft = { name: rubric.name, groupId: rubric.group_id ?? "" };
  }

  /** Say what went wrong: in the interface language when we know the case. */
  fail(error, key = null) {
    const status = this.editor.querySelector(".form-note");
    status.classList.add("form-note--error");
    const details = (error && error.details) || {};
    const known = key || (error && error.code === "conflict"
      ? ("rubric_id" in details ? "rubrics.scopeTaken" : "version" in details ? "rubrics.stale" : null)
      : null);
    if (known) setText(status, known);
    else {
      delete status.dataset.i18n;
      status.textContent = errorMessage(error);
    }
  }
}

/** A criterion as the API takes it (its id is given by its position). */
function clean({ title, description, weight, scale, optional }) {
  return { title: title.trim(), description: description.trim(), weight: Number(weight) || 1,
    scale, optional: Boolean(optional) };
}
