// SnapMode's search page: a photo (chosen, taken, dropped, pasted or at a URL, or one region of it), words, filters
// from /facets, paging and "more like this". The query lives in the page's address, so Back, Forward, bookmarks and
// shared links show the same results; a newer search cancels an older one still in flight.
const $ = (id) => document.getElementById(id);
const MAX_UPLOAD_SIDE = 1024;  // photos shrink to this before upload: a crop of a quarter still has the 256 px embedded
const K_DEFAULT = "12";
const FIELDS = ["q", "category", "brand", "colour", "site", "price_min", "price_max", "k"];
const FACETS = [...document.querySelectorAll("select[data-facet]")];
const MIN_BOX = 0.05;  // the smallest crop the page draws, as a share of each side

// photo: {blob, id?} (chosen here; id once the server keeps it), {id} (from a shared link) or {url}; null: none.
const query = { photo: null, box: null, similar: null, pages: 1 };
let inflight = null;  // the AbortController of the request being answered

const MESSAGES = {
  empty: "That file is empty. Choose a photo.",
  too_large: "That photo is too large. Try a smaller one.",
  not_an_image: "That file is not a photo we can read. Use a JPEG, PNG, GIF, WebP, BMP or TIFF image.",
  corrupt: "That photo seems damaged. Try another one.",
  pixel_bomb: "That photo is too large to read safely. Try a smaller one.",
  scan_bomb: "That photo is too large to read safely. Try a smaller one.",
  decode_timeout: "That photo takes too long to read. Try another one.",
  bad_url: "That is not the web address of a photo (it starts with http:// or https://).",
  private_address: "Photos on private or local addresses cannot be fetched.",
  redirect_loop: "That address sends us around in circles. Try another one.",
  http_error: "The shop's server did not give us that photo.",
  unreachable: "The photo's address could not be reached. Check it, or save the photo and choose it instead.",
  rate_limited: "You searched a lot in a short time. Please wait a moment before searching again.",
  busy: "We are very busy right now. Please try again in a moment.",
  unavailable: "Search is unavailable for a moment. Please try again shortly.",
  store_unavailable: "Search is unavailable for a moment. Please try again shortly.",
  photo_expired: "The shared photo is no longer available. Choose the photo again to search with it.",
  not_found: "That product is no longer available.",
  invalid_request: "Something in this search is not valid: check the prices and the number of results.",
  unauthorized: "This server needs an API key.",
};

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function problemText(status, body, retryAfter) {
  const known = MESSAGES[body?.reason];
  const wait = retryAfter && (status === 429 || status === 503) ? ` (about ${retryAfter} s)` : "";
  return (known || "Something went wrong with this search. Please try again.") + wait;
}

// --- the API -----------------------------------------------------------------------------------------------------

function keyHeaders() {
  const key = localStorage.getItem("snapmode-api-key");
  return key ? { "X-API-Key": key } : {};
}

// fetch() with the API key; on 401 asks for the key once, keeps it in this browser, and tries again.
async function call(url, options = {}) {
  const send = () => fetch(url, { ...options, headers: { ...(options.headers || {}), ...keyHeaders() } });
  let response = await send();
  if (response.status === 401) {
    const key = window.prompt("This SnapMode server needs an API key:");
    if (key) {
      localStorage.setItem("snapmode-api-key", key.trim());
      response = await send();
    }
  }
  return response;
}

function value(name) {
  return $(name).value.trim();
}

function filterParams() {
  const p = new URLSearchParams();
  ["category", "brand", "colour", "site", "price_min", "price_max"].forEach((n) => { if (value(n)) p.set(n, value(n)); });
  return p;
}

function boxText(box) {
  return box.map((v) => Number(v.toFixed(4))).join(",");
}

// The request of the current query for `k` products from rank `offset`.
function request(k, offset, signal) {
  const p = filterParams();
  p.set("k", String(k));
  p.set("offset", String(offset));
  if (query.similar) return call(`/products/${encodeURIComponent(query.similar.key)}/similar?${p}`, { signal });
  if (value("q")) p.set("q", value("q"));
  if (query.box) p.set("bbox", boxText(query.box));
  if (query.photo?.url) {
    const body = Object.fromEntries(p);
    body.k = k;
    body.offset = offset;
    if (body.price_min) body.price_min = Number(body.price_min);
    if (body.price_max) body.price_max = Number(body.price_max);
    return call("/search/url", { method: "POST", headers: { "Content-Type": "application/json" },
                                 body: JSON.stringify({ url: query.photo.url, ...body }), signal });
  }
  const form = new FormData();
  p.forEach((v, n) => form.append(n, v));
  if (query.photo?.blob) form.append("file", query.photo.blob, query.photo.blob.name || "photo.jpg");
  else if (query.photo?.id) form.append("photo_id", query.photo.id);
  return call("/search", { method: "POST", body: form, signal });
}

function pageSize() {
  const k = Number(value("k") || K_DEFAULT);
  return Number.isFinite(k) && k >= 1 ? Math.min(Math.round(k), 100) : Number(K_DEFAULT);
}

// Search; `how`: "push" (a new search: a new entry in the history), "replace" (the same entry) or "more" (the next
// page, appended). A response to a search that a newer one replaced is dropped.
async function run(how = "push") {
  if (!query.photo && !query.similar && !value("q")) {
    say("Choose a photo, or type some words, to search.", true);
    return;
  }
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  const k = pageSize();
  const more = how === "more";
  if (!more) query.pages = 1;
  const restoring = !more && query.restorePages > 1 && query.restorePages * k <= 100;
  const [count, offset] = more ? [k, query.pages * k] : [restoring ? query.restorePages * k : k, 0];
  query.restorePages = 0;
  say(more ? "Loading more…" : "Searching…");
  $("grid").setAttribute("aria-busy", "true");
  let response, body;
  try {
    response = await request(count, offset, controller.signal);
    body = await response.json().catch(() => ({}));
  } catch (err) {
    if (controller.signal.aborted) return;  // a newer search replaced this one
    say("We could not reach the server. Check your connection and try again.", true);
    return;
  } finally {
    if (inflight === controller) $("grid").removeAttribute("aria-busy");
  }
  if (inflight !== controller) return;
  inflight = null;
  if (!response.ok) {
    say(problemText(response.status, body, response.headers.get("Retry-After")), true);
    if (body?.reason === "photo_expired") clearPhoto(false);
    return;
  }
  if (more) query.pages += 1;
  else if (restoring) query.pages = count / k;
  if (body.photo_id && query.photo?.blob) query.photo.id = body.photo_id;
  render(body, more);
  if (how !== "none") remember(how === "push" ? "push" : "replace");
}

// --- results -----------------------------------------------------------------------------------------------------

function price(r) {
  if (r.price == null) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: r.currency || "EUR" }).format(r.price);
  } catch { return `${r.price.toFixed(2)} ${r.currency || ""}`; }
}

function render(body, append) {
  const grid = $("grid");
  if (!append) grid.replaceChildren();
  const byImage = body.ranking === "image" || body.ranking === undefined;  // "more like this" ranks by image too
  body.results.forEach((r) => {
    const card = $("card").content.firstElementChild.cloneNode(true);
    if (!grid.children.length) card.classList.add("first");
    card.dataset.key = r.product_key;
    card.querySelector(".thumb").href = r.url;
    const img = card.querySelector("img");
    img.src = r.image_path;
    img.alt = r.title;
    card.querySelector(".brand-name").textContent = r.brand || r.site;
    const match = card.querySelector(".match");
    if (byImage) match.textContent = `${Math.max(0, Math.min(100, Math.round(r.score * 100)))}% alike`;
    else match.remove();  // fused ranks have no scale a shopper can read
    card.querySelector(".title").textContent = r.title;
    card.querySelector(".price").textContent = price(r);
    card.querySelector(".category").textContent = r.category || "";
    const others = (r.duplicates || []).length;
    if (others) {  // near-duplicates collapsed into this result
      const also = card.querySelector(".also");
      also.hidden = false;
      also.textContent = `Also sold as ${others} other product${others > 1 ? "s" : ""}`;
    }
    const like = card.querySelector(".more-like");
    like.setAttribute("aria-label", `More like ${r.title}`);
    like.addEventListener("click", () => {
      query.similar = { key: r.product_key, title: r.title };
      run();
    });
    grid.append(card);
  });
  const shown = grid.children.length;
  $("empty").hidden = shown > 0;
  $("empty").textContent = shown ? "" : "No product matches this search. Try fewer filters or other words.";
  $("more").hidden = body.results.length < pageSize() || body.results.length === 0;
  const what = query.similar ? `More like “${query.similar.title}”: ` : "";
  say(`${what}${shown} product${shown === 1 ? "" : "s"} found.`);
}

// --- the address ---------------------------------------------------------------------------------------------------

function address() {
  const p = new URLSearchParams();
  FIELDS.forEach((n) => { if (value(n) && !(n === "k" && value(n) === K_DEFAULT)) p.set(n, value(n)); });
  if (query.photo?.id) p.set("photo", query.photo.id);
  else if (query.photo?.url) p.set("url", query.photo.url);
  if (query.box) p.set("bbox", boxText(query.box));
  if (query.similar) {
    p.set("similar", query.similar.key);
    p.set("title", query.similar.title);
  }
  if (query.pages > 1) p.set("page", String(query.pages));
  const text = p.toString();
  return text ? `?${text}` : location.pathname;
}

function remember(how) {
  const target = address();
  if (how === "push" && target !== location.search && !(target === location.pathname && !location.search)) {
    history.pushState(null, "", target);
  } else {
    history.replaceState(null, "", target);
  }
}

// The query of the address (on load, Back and Forward), searched again without a new history entry.
function restore() {
  const p = new URLSearchParams(location.search);
  FIELDS.forEach((n) => { $(n).value = p.get(n) ?? (n === "k" ? K_DEFAULT : ""); });
  const box = (p.get("bbox") || "").split(",").map(Number);
  query.box = box.length === 4 && box.every(Number.isFinite) ? box : null;
  query.similar = p.get("similar") ? { key: p.get("similar"), title: p.get("title") || p.get("similar") } : null;
  query.restorePages = Math.max(1, Number(p.get("page")) || 1);
  if (p.get("photo")) showPhoto({ id: p.get("photo") }, `/photos/${p.get("photo")}`);
  else if (p.get("url")) showPhoto({ url: p.get("url") }, p.get("url"));
  else clearPhoto(false);
  drawBox();
  if (query.photo || query.similar || value("q")) run("none");
  else {
    inflight?.abort();
    showNothing();
  }
}

// --- the photo -----------------------------------------------------------------------------------------------------

function showPhoto(photo, src) {
  query.photo = photo;
  $("preview").src = src;
  $("stage").hidden = false;
  $("photo").dataset.state = "photo";
  $("remove").hidden = false;
  if (photo.url) $("url").value = photo.url;
}

function clearPhoto(search = true) {
  query.photo = null;
  query.box = null;
  $("preview").removeAttribute("src");
  $("stage").hidden = true;
  $("photo").dataset.state = "empty";
  $("remove").hidden = true;
  $("url").value = "";
  drawBox();
  if (!search) return;
  if (value("q")) run();
  else {  // nothing left to search with
    inflight?.abort();
    showNothing();
    remember("push");
  }
}

function showNothing() {
  $("grid").replaceChildren();
  $("empty").hidden = false;
  $("empty").textContent = "Results appear here: the products whose photos look most like yours.";
  $("more").hidden = true;
  say("");
}

// Phones' photos are several MB: shrink them here (upright, as JPEG) before they travel.
async function downscale(file) {
  if (!file.type.startsWith("image/") || !window.createImageBitmap) return file;
  let bitmap;
  try { bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }); } catch { return file; }
  const scale = MAX_UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) { bitmap.close(); return file; }
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.9));
  return blob ? new File([blob], "photo.jpg", { type: "image/jpeg" }) : file;
}

async function useFile(file) {
  if (!file) return;
  const upload = await downscale(file);
  query.similar = null;
  query.box = null;
  showPhoto({ blob: upload }, URL.createObjectURL(upload));
  drawBox();
  run();
}

// --- the crop ------------------------------------------------------------------------------------------------------

function drawBox() {
  const box = $("box");
  box.hidden = !query.box;
  $("whole").hidden = !query.box;
  if (query.box) {
    const [x0, y0, x1, y1] = query.box;
    Object.assign(box.style, { left: `${x0 * 100}%`, top: `${y0 * 100}%`, width: `${(x1 - x0) * 100}%`,
                               height: `${(y1 - y0) * 100}%` });
    $("crop-state").textContent = `Searching the area from ${Math.round(x0 * 100)}% to ${Math.round(x1 * 100)}% across ` +
      `and ${Math.round(y0 * 100)}% to ${Math.round(y1 * 100)}% down.`;
  } else {
    $("crop-state").textContent = query.photo ? "Searching the whole photo. Drag over it to search one part." : "";
  }
}

function clamp(v, low = 0, high = 1) {
  return Math.min(high, Math.max(low, v));
}

function pointAt(ev) {
  const rect = $("crop").getBoundingClientRect();
  return [clamp((ev.clientX - rect.left) / rect.width), clamp((ev.clientY - rect.top) / rect.height)];
}

let dragFrom = null;
$("crop").addEventListener("pointerdown", (ev) => {
  if (!query.photo) return;
  dragFrom = pointAt(ev);
  $("crop").setPointerCapture(ev.pointerId);
  ev.preventDefault();
});
$("crop").addEventListener("pointermove", (ev) => {
  if (!dragFrom) return;
  const [x, y] = pointAt(ev);
  query.box = [Math.min(dragFrom[0], x), Math.min(dragFrom[1], y), Math.max(dragFrom[0], x), Math.max(dragFrom[1], y)];
  drawBox();
});
$("crop").addEventListener("pointerup", () => {
  if (!dragFrom) return;
  dragFrom = null;
  const b = query.box;
  if (b && (b[2] - b[0] < MIN_BOX || b[3] - b[1] < MIN_BOX)) query.box = null;  // a click, not a crop
  drawBox();
  if (query.box) { query.similar = null; run(); }
});
$("crop").addEventListener("keydown", (ev) => {
  if (!query.photo) return;
  const step = 0.05;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (ev.key === "Enter") {
    ev.preventDefault();
    query.similar = null;
    run();
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    query.box = null;
    drawBox();
    run();
  } else if (moves[ev.key]) {
    ev.preventDefault();
    const [dx, dy] = moves[ev.key];
    let [x0, y0, x1, y1] = query.box || [0.25, 0.25, 0.75, 0.75];
    if (ev.shiftKey) {  // resize from the lower right corner
      x1 = clamp(x1 + dx, x0 + MIN_BOX);
      y1 = clamp(y1 + dy, y0 + MIN_BOX);
    } else {
      const w = x1 - x0, h = y1 - y0;
      x0 = clamp(x0 + dx, 0, 1 - w);
      y0 = clamp(y0 + dy, 0, 1 - h);
      [x1, y1] = [x0 + w, y0 + h];
    }
    query.box = [x0, y0, x1, y1];
    drawBox();
  }
});
$("whole").addEventListener("click", () => { query.box = null; drawBox(); run(); });

// --- the controls --------------------------------------------------------------------------------------------------

$("choose").addEventListener("click", () => $("file").click());
$("camera").addEventListener("click", () => $("capture").click());
$("file").addEventListener("change", () => { useFile($("file").files[0]); $("file").value = ""; });
$("capture").addEventListener("change", () => { useFile($("capture").files[0]); $("capture").value = ""; });
$("remove").addEventListener("click", () => { clearPhoto(); $("choose").focus(); });
const drop = $("drop");
["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (ev) => useFile(ev.dataTransfer.files[0]));
document.addEventListener("paste", (ev) => {
  const item = [...(ev.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) useFile(item.getAsFile());
});

// One Search button: a new photo address is searched with, else the current photo and the words.
$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const url = value("url");
  if (url && url !== query.photo?.url) {
    query.box = null;
    showPhoto({ url }, url);
    drawBox();
  } else if (!url && query.photo?.url) {
    clearPhoto(false);
  }
  query.similar = null;
  run();
});
[$("k"), $("price_min"), $("price_max"), ...FACETS].forEach((el) => el.addEventListener("change", () => {
  if (query.photo || query.similar || value("q")) run();
}));
$("more").addEventListener("click", () => run("more"));
window.addEventListener("popstate", restore);

async function loadFacets() {
  let data;
  try {
    const response = await call("/facets");
    if (!response.ok) return;
    data = await response.json();
  } catch { return; }
  FACETS.forEach((select) => {
    const chosen = select.value;
    for (const { value: v, count } of data[select.dataset.facet] || []) select.append(new Option(`${v} (${count})`, v));
    select.value = chosen;
  });
  if (data.price_min != null) $("price_min").placeholder = String(Math.floor(data.price_min));
  if (data.price_max != null) $("price_max").placeholder = String(Math.ceil(data.price_max));
}

loadFacets().then(() => {
  if (location.search) restore();  // a shared link or a bookmark: its filters need the facets' options
});
