// The page's own script, served from the app's origin (the CSP allows no inline or
// evaluated script). Chips live inside chat messages, which Gradio sanitises (no inline
// handlers), so one delegated listener hands the chip's reference (its href fragment) to
// the hidden textbox and clicks the hidden button whose event opens the paragraph.
document.addEventListener("click", (event) => {
  const chip = event.target.closest && event.target.closest("a.cite-chip");
  if (!chip) return;
  event.preventDefault();
  event.stopPropagation();
  const box = document.querySelector("#cite-target textarea, #cite-target input");
  if (!box) return;
  box.value = (chip.getAttribute("href") || "").replace("#cite=", "");
  box.dispatchEvent(new Event("input", { bubbles: true }));
  // Gradio reads the textbox's value on its next tick; click after it has.
  setTimeout(() => document.querySelector("#cite-go")?.click(), 0);
}, true);
