// The page's own script, served from the app's origin (the CSP allows no inline or
// evaluated script). Chips and answer actions live inside chat messages, which Gradio
// sanitises (no inline handlers), so delegated listeners do the work:
// - a citation chip hands its reference (its href fragment) to the hidden textbox and
//   clicks the hidden button whose event opens the paragraph;
// - "link to this answer" copies the answer's address (a plain link where the clipboard
//   is not allowed);
// - a rating posts to the answer's feedback route (a "not helpful" asks for a comment).
// The final answer is announced once to screen readers, never word by word.

function say(text) {
  const region = document.getElementById("assistant-announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 50);
}

function openCitation(chip) {
  const box = document.querySelector("#cite-target textarea, #cite-target input");
  if (!box) return;
  box.value = (chip.getAttribute("href") || "").replace("#cite=", "");
  box.dispatchEvent(new Event("input", { bubbles: true }));
  // Gradio reads the textbox's value on its next tick; click after it has.
  setTimeout(() => document.querySelector("#cite-go")?.click(), 0);
}

async function rate(link) {
  const [id, rating] = (link.getAttribute("href") || "").replace("#feedback=", "").split(":");
  let comment = "";
  if (rating === "down") {
    comment = window.prompt(link.getAttribute("title") + ": what was wrong? (optional)") || "";
  }
  try {
    const response = await fetch(`api/answers/${encodeURIComponent(id)}/feedback`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ rating, comment: comment.slice(0, 2000) }),
    });
    if (!response.ok) throw new Error(String(response.status));
    link.closest(".answer-actions")?.querySelectorAll("a.feedback")
      .forEach((other) => other.setAttribute("aria-pressed", String(other === link)));
    link.classList.add("rated");
    say(link.getAttribute("title") + " ✓");
  } catch (error) {
    say("Feedback could not be sent (" + error.message + ")");
  }
}

async function copyLink(link) {
  const address = new URL(link.getAttribute("href"), window.location.href).toString();
  try {
    await navigator.clipboard.writeText(address);
    say(address);
    link.classList.add("copied");
  } catch (error) {
    window.location.href = address; // no clipboard (an iframe without the permission)
  }
}

document.addEventListener("click", (event) => {
  const target = event.target.closest && event.target.closest(
    "a.cite-chip, a.feedback, a.answer-link");
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  if (target.classList.contains("cite-chip")) openCitation(target);
  else if (target.classList.contains("feedback")) rate(target);
  else copyLink(target);
}, true);

// One polite live region for the final answer; the chat itself stays quiet while streaming.
// Gradio inserts this script after the page has loaded, so it starts at once when it can.
function announceAnswers() {
  const region = document.createElement("div");
  region.id = "assistant-announcer";
  region.className = "visually-hidden";
  region.setAttribute("aria-live", "polite");
  region.setAttribute("role", "status");
  document.body.appendChild(region);
  let announced = "";
  new MutationObserver(() => {
    const chat = document.getElementById("chat");
    if (!chat) return;
    chat.querySelectorAll("[aria-live]:not([aria-live='off'])")
      .forEach((node) => node.setAttribute("aria-live", "off"));
    const finished = chat.querySelectorAll(".answer:not(.streaming), .abstention");
    const last = finished[finished.length - 1];
    // Gradio re-renders messages: an answer is known by its place and its text.
    const key = last ? `${finished.length}:${last.innerText.slice(0, 200)}` : "";
    if (last && key !== announced) {
      announced = key;
      say(last.innerText);
    }
  }).observe(document.body, { childList: true, subtree: true });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", announceAnswers);
} else {
  announceAnswers();
}
