// On phones the widget fills the screen. With the on-screen keyboard open, what can be seen
// (the visual viewport) is smaller than the layout viewport that fixed elements are placed
// in, so the message box would sit under the keyboard: the full-screen panel follows the
// visual viewport's height and offset instead (--la-vv-height, --la-vv-top).

export function followVisualViewport(el) {
  const view = window.visualViewport;
  if (!view) return;
  const update = () => {
    el.style.setProperty("--la-vv-height", `${Math.round(view.height)}px`);
    el.style.setProperty("--la-vv-top", `${Math.round(view.offsetTop)}px`);
  };
  view.addEventListener("resize", update);
  view.addEventListener("scroll", update);
  update();
}
