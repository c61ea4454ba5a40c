// One call's review: the recording played in sync (player and controls), the evidence
// timeline under it, and the scoring, comments and history beside it. Everything follows the
// player's one media clock; clicking evidence seeks it.

import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { dateTime, duration } from "../format.js";
import { t } from "../i18n.js";
import { CommentsPanel } from "./comments.js";
import { PlayerControls } from "./controls.js";
import {
  annotations, commentEntries, ordered, qualitySamples, recordingEntries,
} from "./evidence.js";
import { ReplayedAnnotations } from "./overlay.js";
import { SyncPlayer } from "./player.js";
import { HistoryPanel } from "./reviewhistory.js";
import { ScoringPanel } from "./scoring.js";
import { EvidenceTimeline } from "./timeline.js";

const POLL_MS = 3000;

export class ReviewView {
  constructor({ api, user, key, backHash }) {
    this.api = api;
    this.user = user;
    this.key = key;
    this.player = null;
    this.poll = null;
    this.destroyed = false;
    this.header = h("header", { class: "qa-review-view__header" },
      h("a", { class: "link qa-back", href: backHash, i18n: "qa.back" }),
      h("h2", { id: "qa-review-title", tabindex: -1, i18n: "common.loading" }));
    this.body = h("div", { class: "qa-review-view__body" });
    this.el = h("article", { class: "qa-review-view", "aria-labelledby": "qa-review-title" },
      this.header, this.body);
  }

  /** Open the review of a call from elsewhere (the console's ticket): find its recording. */
  async openCall(callId, ticketId) {
    try {
      const query = ticketId ? { ticket_id: ticketId, per_page: 100 } : { per_page: 100 };
      const found = await this.api.get("/api/recordings", query);
      const recording = found.items.find((item) => item.call_id === callId);
      if (!recording) {
        this.fail({ message: t("qa.noRecording") });
        return;
      }
      await this.open(recording.id);
    } catch (error) {
      this.fail(error);
    }
  }

  async open(recordingId) {
    this.recordingId = recordingId;
    let recording;
    let timeline;
    try {
      [recording, timeline] = await Promise.all([
        this.api.get(`/api/recordings/${recordingId}`),
        this.api.get(`/api/recordings/${recordingId}/timeline`),
      ]);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.destroyed) return;
    this.showHeader(recording);
    if (recording.state !== "ready") {
      this.waitFor(recording);
      return;
    }
    this.build(recording, timeline);
  }

  showHeader(recording) {
    setText(this.header.querySelector("h2"), "qa.reviewTitle", {
      customer: recording.customer_name || "—", agent: recording.agent_name || "—",
    });
    const meta = h("p", { class: "muted qa-review-view__meta" },
      h("time", { datetime: recording.started_at, text: dateTime(recording.started_at) }),
      " · ", duration((recording.duration_ms || 0) / 1000),
      recording.ticket_id ? [" · ", h("span", { i18n: "console.ticketRef",
        i18nArgs: { id: recording.ticket_id } })] : null,
      recording.interrupted
        ? [" · ", h("span", { class: "qa-level qa-level--fair", i18n: "qa.interrupted" })] : null);
    const old = this.header.querySelector(".qa-review-view__meta");
    if (old) old.replaceWith(meta);
    else this.header.append(meta);
  }

  /** A recording still being made or converted: say so, with its progress, and look again. */
  waitFor(recording) {
    const failed = recording.state === "failed" || recording.state === "deleted";
    const live = recording.state === "recording" || recording.state === "paused";
    const job = (recording.jobs || []).find((j) => j.kind === "convert" && j.state !== "done");
    const progress = job ? Math.round((job.progress || 0) * 100) : 0;
    const key = failed ? `qa.recording.${recording.state}` : live ? "qa.stillRecording" : "qa.preparing";
    replace(this.body, h("p", { class: failed ? "form-error" : "muted", role: "status",
      i18n: key, i18nArgs: { progress, reason: recording.reason || "—" } }));
    if (!failed) {
      this.poll = setTimeout(() => this.open(this.recordingId), POLL_MS);
    }
  }

  build(recording, timeline) {
    const items = timeline.items || [];
    const durationMs = Math.max(recording.duration_ms || 0,
      ...recording.files.map((f) => (f.start_offset_ms || 0) + (f.duration_ms || 0)));
    const player = new SyncPlayer({
      files: recording.files,
      durationMs,
      pausedSpans: recording.paused_spans || [],
      link: (fileId) => this.api.post(`/api/recordings/${recording.id}/links`, { file_id: fileId }),
    });
    this.player = player;
    const controls = new PlayerControls(player);
    const evidence = new EvidenceTimeline({ duration: durationMs,
      pausedSpans: recording.paused_spans || [] });
    const marks = new ReplayedAnnotations(annotations(items));
    const fromRecording = recordingEntries(items);
    evidence.setQuality(qualitySamples(items));
    evidence.setEntries(ordered(fromRecording));

    const scoring = new ScoringPanel({ api: this.api, callId: recording.call_id });
    const comments = new CommentsPanel({ api: this.api, user: this.user,
      position: () => player.position });
    const history = new HistoryPanel({ api: this.api });
    scoring.on("review", (review) => {
      comments.setReview(review);
      history.setReview(review);
      evidence.setEntries(ordered([...fromRecording, ...commentEntries(review ? review.comments : [])]));
      evidence.update(player.position);
    });
    comments.on("changed", () => scoring.load());
    for (const source of [evidence, comments]) source.on("seek", (ms) => player.seek(ms));
    player.on("time", (position) => {
      evidence.update(position);
      marks.draw(player.tracks, position);
      controls.update(position);
      comments.follow(position);
    });

    const region = h("section", { class: "qa-player-region", "aria-labelledby": "qa-player-title" },
      h("h3", { id: "qa-player-title", class: "visually-hidden", i18n: "qa.player" }),
      player.el, controls.el,
      h("p", { class: "muted qa-keys", i18n: "qa.keys" }),
      this.downloads(recording));
    controls.bindKeys(region);
    replace(this.body, h("div", { class: "qa-review-grid" },
      h("div", { class: "qa-review-grid__main" }, region, evidence.el),
      h("aside", { class: "qa-review-grid__side", "aria-labelledby": "qa-scoring-title" },
        scoring.el, comments.el, history.el)));
    player.load().catch((error) => this.fail(error));
    scoring.load();
    this.header.querySelector("h2").focus();
  }

  /** The composite video (screen large, cameras small, both voices) as a download through its
   * own signed link; when there is none yet, a button that asks for it and waits. */
  downloads(recording) {
    const holder = h("p", { class: "qa-downloads" });
    const note = h("span", { class: "muted", role: "status" });
    const show = (files) => {
      const composite = files.find((f) => f.kind === "composite");
      if (composite) {
        replace(holder, h("button", { type: "button", class: "button button--small",
          i18n: "qa.download", onclick: () => this.download(recording, composite, note) }), note);
      } else {
        replace(holder, h("button", { type: "button", class: "button button--small",
          i18n: "qa.makeComposite", onclick: () => this.makeComposite(recording, note, show) }), note);
      }
    };
    show(recording.files);
    return holder;
  }

  async download(recording, composite, note) {
    try {
      const { url } = await this.api.post(`/api/recordings/${recording.id}/links`,
        { file_id: composite.id });
      const anchor = h("a", { href: url, download: `call-${recording.call_id}.webm` });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
    } catch (error) {
      note.textContent = errorMessage(error);
    }
  }

  async makeComposite(recording, note, show) {
    try {
      await this.api.post(`/api/recordings/${recording.id}/composite`, {});
    } catch (error) {
      note.textContent = errorMessage(error);
      return;
    }
    setText(note, "qa.compositeComing");
    const look = async () => {
      if (this.destroyed) return;
      const now = await this.api.get(`/api/recordings/${recording.id}`).catch(() => null);
      const job = now && (now.jobs || []).find((j) => j.kind === "composite");
      if (now && now.files.some((f) => f.kind === "composite")) {
        show(now.files);
      } else if (job && job.state === "failed") {
        note.textContent = job.error || "";
      } else {
        this.poll = setTimeout(look, POLL_MS);
      }
    };
    this.poll = setTimeout(look, POLL_MS);
  }

  fail(error) {
    replace(this.body, h("p", { class: "form-error", role: "alert", text: errorMessage(error) }));
    const title = this.header.querySelector("h2");
    if (title.dataset.i18n === "common.loading") setText(title, "qa.review");
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.poll);
    if (this.player) this.player.destroy();
    this.player = null;
  }
}
