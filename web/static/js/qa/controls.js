// The player's controls: play/pause, the position as text and as a slider (arrows step 5 s,
// Page Up/Down 30 s, Home/End), the speed, and each voice on or off. Keys anywhere in the
// player region: Space or K plays/pauses, J/L go back/forward 10 s.

import { h, setText } from "../dom.js";
import { translateNode } from "../i18n.js";
import { mediaTime } from "./evidence.js";

const RATES = [0.5, 1, 1.5, 2];

export class PlayerControls {
  constructor(player) {
    this.player = player;
    this.shownSecond = -1;
    this.play = h("button", { type: "button", class: "button button--primary qa-play",
      onclick: () => player.toggle() });
    setText(this.play, "qa.play");
    this.time = h("span", { class: "qa-time", "aria-hidden": "true" });
    this.slider = h("input", { type: "range", class: "qa-slider", min: 0, max: player.duration,
      step: 100, value: 0, i18nArgs: { at: "0:00", total: mediaTime(player.duration) },
      i18nAttrs: { "aria-label": "qa.position", "aria-valuetext": "qa.positionText" } });
    this.slider.addEventListener("input", () => player.seek(Number(this.slider.value)));
    this.slider.addEventListener("keydown", (event) => {
      const steps = { ArrowLeft: -5000, ArrowRight: 5000, ArrowDown: -5000, ArrowUp: 5000,
        PageDown: -30_000, PageUp: 30_000 };
      if (!(event.key in steps)) return;
      event.preventDefault();
      player.seek(player.position + steps[event.key]);
    });
    const rate = h("select", { id: "qa-rate" }, RATES.map((r) => h("option", { value: r, text: `${r}×`,
      selected: r === 1 })));
    rate.addEventListener("change", () => player.setRate(Number(rate.value)));
    const voices = ["customer", "agent"].map((who) => {
      const id = `qa-voice-${who}`;
      const box = h("input", { type: "checkbox", id, checked: true,
        onchange: () => player.setVoice(who, box.checked) });
      return h("span", { class: "qa-voice" }, box, h("label", { for: id, i18n: `qa.voice.${who}` }));
    });
    this.state = h("span", { class: "qa-buffering", role: "status" });
    this.el = h("div", { class: "qa-controls" },
      this.play, this.time, this.slider,
      h("span", { class: "qa-rate" }, h("label", { for: "qa-rate", i18n: "qa.speed" }), rate),
      h("span", { class: "qa-voices-toggle" }, voices), this.state);
    player.on("state", (state) => this.showState(state));
    this.update(0);
  }

  /** Bind Space/K and J/L on the region holding the player and these controls. */
  bindKeys(region) {
    region.addEventListener("keydown", (event) => {
      const target = event.target;
      if (target.closest("input, textarea, select, button") && event.key === " ") return;
      if (target.matches("textarea, input[type=text], input[type=number]")) return;
      const key = event.key.toLowerCase();
      if (key === " " || key === "k") this.player.toggle();
      else if (key === "j") this.player.seek(this.player.position - 10_000);
      else if (key === "l") this.player.seek(this.player.position + 10_000);
      else return;
      event.preventDefault();
    });
  }

  update(position) {
    if (document.activeElement !== this.slider || !this.player.playing) {
      this.slider.value = String(Math.round(position));
    }
    const second = Math.floor(position / 1000);
    if (second === this.shownSecond) return;
    this.shownSecond = second;
    const args = { at: mediaTime(position), total: mediaTime(this.player.duration) };
    this.time.textContent = `${args.at} / ${args.total}`;
    this.slider.dataset.i18nArgs = JSON.stringify(args);
    translateNode(this.slider);
  }

  showState(state) {
    const playing = state !== "paused";
    setText(this.play, playing ? "qa.pause" : "qa.play");
    if (state === "buffering") setText(this.state, "qa.buffering");
    else {
      this.state.textContent = "";
      delete this.state.dataset.i18n;
    }
  }
}
