// The counter station's page (docs/COUNTER.md). Plain JavaScript, no library, nothing from outside.
// Privacy: frames and the ID card live only in this page's memory (typed arrays, zeroed after
// sending); nothing is written to localStorage, IndexedDB, caches or object URLs; canvases are
// cleared after use.
"use strict";

// The capture schedule, in milliseconds (the browser tests' fake-camera videos follow it too).
// hold: how long the start waits, at most, while simverify's check of the preview names a problem.
const SCHEDULE = { countdown: 3000, frontal: 800, step: 1400, back: 800, interval: 200, hold: 6000 };
const MAX_FRAMES = 32;
const MAX_ID_CARD = 8 * 1024 * 1024;

const TEXT = {
  ko: {
    title: "SIM 개통 본인 확인",
    consentHeading: "얼굴 확인 동의",
    consent1: "신분증 사진과 지금 촬영하는 얼굴을 비교해 본인임을 확인합니다.",
    consent2: "촬영한 사진과 신분증 이미지는 판정 즉시 삭제되며 어디에도 저장되지 않습니다.",
    consent3: "판정 결과는 해시(복원할 수 없는 값)로 된 감사 기록으로만 남고, 감독기관이 검증합니다.",
    consent4: "얼굴 확인을 원하지 않으시면 지금 바로 얼굴 인식 없는 확인 방법(직원의 신분증 대면 확인)을 선택하실 수 있으며, 이로 인한 불이익은 없습니다.",
    msisdnLabel: "개통할 전화번호 (선택)",
    agree: "동의하고 얼굴 확인 진행",
    decline: "동의하지 않음 — 얼굴 인식 없이 확인",
    idHeading: "신분증 촬영",
    idHelp: "신분증의 사진 면을 안내선 안에 맞추고 촬영하세요. 스캐너 파일(JPEG)을 선택할 수도 있습니다.",
    capture: "촬영", fromFile: "스캐너 파일 선택", retake: "다시 촬영", next: "다음",
    cardReady: "신분증 이미지가 준비되었습니다.",
    challengeHeading: "얼굴 확인 동작",
    start: "시작", sending: "판정 중입니다…", resultHeading: "결과",
    attemptsLabel: "남은 시도", receiptLabel: "감사 기록 번호", latencyLabel: "마지막 촬영부터 판정까지",
    tryAgain: "다시 시도", rescan: "신분증 다시 촬영", toFallback: "얼굴 인식 없이 확인", newCustomer: "다음 고객",
    fallbackHeading: "얼굴 인식 없는 본인 확인",
    fallback1: "직원이 신분증 원본을 받아 사진과 고객의 얼굴을 직접 비교합니다.",
    fallback2: "신분증 진위 확인 서비스로 신분증을 확인합니다.",
    fallback3: "확인 결과를 비생체 절차로 개통 시스템에 기록합니다.",
    fallbackDeclined: "고객이 얼굴 확인에 동의하지 않았습니다.",
    fallbackExhausted: "얼굴 확인 시도를 모두 사용했습니다.",
    resend: "다시 보내기", close: "닫기",
    lookAtCamera: "카메라를 바라보세요", lookAgain: "다시 카메라를 바라보세요", getReady: "준비하세요",
    TURN_LEFT: "왼쪽으로 고개를 돌리세요", TURN_RIGHT: "오른쪽으로 고개를 돌리세요", MOVE_CLOSER: "카메라에 가까이 오세요",
    LOOK_UP: "위를 보세요", LOOK_DOWN: "아래를 보세요",
    stepNames: { TURN_LEFT: "왼쪽", TURN_RIGHT: "오른쪽", MOVE_CLOSER: "가까이", LOOK_UP: "위", LOOK_DOWN: "아래" },
    tooDark: "얼굴이 너무 어둡습니다: 조명을 얼굴 쪽으로 비추고 다시 시도하세요.",
    tooSmall: "얼굴이 타원 안에 보이지 않거나 너무 작습니다: 카메라에 가까이 오세요.",
    hints: {
      NO_FACE_IN_SELFIE: "얼굴이 보이지 않습니다: 타원 안에 얼굴을 맞춰 주세요.",
      SEVERAL_FACES_IN_SELFIE: "여러 사람이 보입니다: 고객 혼자 화면에 보이게 해 주세요.",
      SELFIE_FACE_CUT: "얼굴이 화면 밖으로 나갔습니다: 얼굴 전체가 타원 안에 들어오게 해 주세요.",
      SELFIE_FACE_TOO_SMALL: "얼굴이 너무 작습니다: 카메라에 가까이 오세요.",
      closer: "조금 더 가까이 오세요.",
      SELFIE_BLURRED: "화면이 흐립니다: 움직이지 말고, 렌즈가 깨끗한지 확인하세요.",
      SELFIE_POORLY_EXPOSED: "얼굴이 너무 어둡거나 밝습니다: 얼굴에 조명을 비추고 역광을 피하세요.",
      SELFIE_FACE_COVERED: "얼굴 아래쪽이 가려져 있습니다: 마스크를 턱 아래로 내려 주세요.",
    },
    serverUp: "simverify 연결됨", serverDown: "simverify 서버에 연결할 수 없습니다",
    attemptsLeft: (n) => `${n}회`, noReceipt: "—",
    decisions: { APPROVED: "승인", REJECTED: "거절", MANUAL_REVIEW: "관리자 확인 필요", RETRY: "다시 촬영", LIVENESS_FAILED: "실물 확인 실패", FALLBACK: "비생체 확인으로" },
    errors: {
      server_unavailable: "simverify 서버에 연결할 수 없습니다. 고객의 동의, 신분증, 촬영 내용은 이 화면에 그대로 있습니다. 서버가 다시 켜지면 '다시 보내기'를 누르세요.",
      id_card_too_large: "신분증 파일이 너무 큽니다 (8 MB 이하의 JPEG만 가능). 스캐너 해상도를 낮춰 다시 스캔하세요.",
      id_card_not_jpeg: "신분증 파일이 JPEG가 아닙니다. 스캐너에서 JPEG로 저장해 다시 선택하세요.",
      "id_card_image.image_too_large": "신분증 이미지의 화소 수가 너무 많습니다. 해상도를 낮춰 다시 스캔하세요.",
      "id_card_image.not_jpeg": "신분증 파일이 JPEG가 아닙니다. 스캐너에서 JPEG로 저장해 다시 선택하세요.",
      session_expired: "확인 세션이 만료되었습니다. 새로 시작합니다.",
      session_used: "이 세션의 시도를 모두 사용했습니다.",
      token_required: "화면을 열 권한이 없습니다: simverify-counter가 출력한 주소로 다시 여세요.",
      camera: "카메라를 사용할 수 없습니다: 카메라 연결과 브라우저 권한을 확인하거나 스캐너 파일을 사용하세요.",
      generic: "요청이 처리되지 않았습니다",
    },
    guidance: {
      FACES_MATCH: "SIM을 개통하세요.",
      FACES_DIFFER: "개통하지 마세요: 신분증의 본인이 아닙니다. 이의가 있으면 얼굴 인식 없는 확인을 안내하세요.",
      NEAR_THRESHOLD: "관리자가 고객과 신분증을 직접 비교해 결정합니다.",
      NO_FACE_IN_SELFIE: "다시 촬영하세요: 카메라를 정면으로 보고, 얼굴을 가리는 것을 치우세요.",
      SEVERAL_FACES_IN_SELFIE: "고객 한 사람만 화면에 나오게 다시 촬영하세요.",
      SELFIE_FACE_CUT: "얼굴 전체가 화면 안에 들어오게 다시 촬영하세요.",
      SELFIE_FACE_COVERED: "촬영하는 동안 마스크(또는 스카프)를 턱 아래로 내려 달라고 요청한 뒤 다시 촬영하세요.",
      SELFIE_FACE_TOO_SMALL: "카메라에 더 가까이에서 다시 촬영하세요.",
      SELFIE_BLURRED: "움직임을 멈추고 렌즈가 깨끗한지 확인한 뒤 다시 촬영하세요.",
      SELFIE_POORLY_EXPOSED: "얼굴에 빛이 들게 하고(역광, 반사 없이) 다시 촬영하세요.",
      NO_FACE_ON_ID_CARD: "신분증을 다시 스캔하세요: 사진이 보이고, 평평하고, 빛 반사가 없어야 합니다.",
      SEVERAL_FACES_ON_ID_CARD: "사진 면만 나오게 다시 스캔하세요.",
      ID_CARD_FACE_TOO_SMALL: "더 가까이에서, 또는 더 높은 해상도로 다시 스캔하세요.",
      CHALLENGE_NOT_PERFORMED: "화면에 보이는 동작을 순서대로 해 달라고 안내하고 다시 시도하세요.",
      CHALLENGE_OUT_OF_ORDER: "동작은 했지만 순서가 달랐습니다: 순서대로 다시 시도하세요.",
      NOT_FACING_CAMERA: "카메라를 정면으로 바라본 상태에서 시작하세요.",
      IDENTITY_CHANGED: "화면에 한 사람 이상이 보였습니다: 고객만 촬영하세요. 반복되면 공격으로 보고 처리하세요.",
      DUPLICATE_FRAMES: "단말기가 같은 장면을 여러 번 보냈습니다: 카메라가 멈추지 않았는지 확인하고, 반복되면 지원팀에 알리세요.",
      NO_PARALLAX: "얼굴이 평면 사진처럼 움직였습니다(사진 또는 화면): 개통하지 마세요. 실제 사람이 카메라 앞에 있는지 확인하세요.",
      SCREEN_PATTERN: "얼굴이 화면(휴대폰, 태블릿, 모니터)에서 촬영되었습니다: 개통하지 마세요. 실제 사람이 카메라 앞에 있는지 확인하세요.",
      IMPLAUSIBLE_TIMING: "단말기의 촬영 시각이 불가능한 값입니다: 단말기 고장이나 주입 공격입니다. 지원팀에 알리세요.",
      ATTEMPTS_EXHAUSTED: "시도를 모두 사용했습니다: 얼굴 인식 없는 확인 절차를 진행하세요.",
    },
  },
  en: {
    title: "SIM registration: identity check",
    consentHeading: "Consent to the face check",
    consent1: "We compare the ID card's photo with your face, captured now, to confirm that you are its holder.",
    consent2: "The pictures taken and the ID-card image are deleted as soon as the decision is made; they are stored nowhere.",
    consent3: "Only a hashed audit record (which cannot be turned back into the images) of the decision is kept, and regulators verify it.",
    consent4: "If you do not want the face check, you can choose a check without face recognition now (the clerk checks your ID card in person), at no disadvantage to you.",
    msisdnLabel: "Phone number being registered (optional)",
    agree: "I agree: continue with the face check",
    decline: "I do not agree: check without face recognition",
    idHeading: "ID card",
    idHelp: "Fit the ID card's photo page inside the guide and capture it, or choose a file from the scanner (JPEG).",
    capture: "Capture", fromFile: "Choose scanner file", retake: "Capture again", next: "Next",
    cardReady: "The ID-card image is ready.",
    challengeHeading: "Face check movements",
    start: "Start", sending: "Deciding…", resultHeading: "Result",
    attemptsLabel: "Attempts remaining", receiptLabel: "Audit receipt", latencyLabel: "Last frame to decision",
    tryAgain: "Try again", rescan: "Scan the ID card again", toFallback: "Check without face recognition", newCustomer: "Next customer",
    fallbackHeading: "Identity check without face recognition",
    fallback1: "The clerk takes the original ID card and compares its photo with the customer in person.",
    fallback2: "The ID card is checked with the ID-card authenticity service.",
    fallback3: "The result is recorded in the registration system as a non-biometric check.",
    fallbackDeclined: "The customer did not consent to the face check.",
    fallbackExhausted: "The face check's attempts are used up.",
    resend: "Send again", close: "Close",
    lookAtCamera: "Look at the camera", lookAgain: "Look at the camera again", getReady: "Get ready",
    TURN_LEFT: "Turn your head to the left", TURN_RIGHT: "Turn your head to the right", MOVE_CLOSER: "Move closer to the camera",
    LOOK_UP: "Look up", LOOK_DOWN: "Look down",
    stepNames: { TURN_LEFT: "left", TURN_RIGHT: "right", MOVE_CLOSER: "closer", LOOK_UP: "up", LOOK_DOWN: "down" },
    tooDark: "The face is too dark: light the face and try again.",
    tooSmall: "No face fills the oval: move closer to the camera.",
    hints: {
      NO_FACE_IN_SELFIE: "No face is seen: bring the face into the oval.",
      SEVERAL_FACES_IN_SELFIE: "More than one person is seen: only the customer in view, please.",
      SELFIE_FACE_CUT: "The face reaches out of the picture: the whole face inside the oval, please.",
      SELFIE_FACE_TOO_SMALL: "The face is too small: move closer to the camera.",
      closer: "Come a little closer.",
      SELFIE_BLURRED: "The picture is blurred: hold still, and check that the lens is clean.",
      SELFIE_POORLY_EXPOSED: "The face is too dark or too bright: light the face, no light behind it.",
      SELFIE_FACE_COVERED: "The lower face is covered: please lower the mask below the chin.",
    },
    serverUp: "simverify connected", serverDown: "simverify cannot be reached",
    attemptsLeft: (n) => `${n}`, noReceipt: "—",
    decisions: { APPROVED: "Approved", REJECTED: "Rejected", MANUAL_REVIEW: "Manual review", RETRY: "Capture again", LIVENESS_FAILED: "Liveness failed", FALLBACK: "Non-biometric path" },
    errors: {
      server_unavailable: "simverify cannot be reached. The customer's consent, ID card and capture are still on this screen. When the server is back, press 'Send again'.",
      id_card_too_large: "The ID-card file is too large (JPEG up to 8 MB). Scan again at a lower resolution.",
      id_card_not_jpeg: "The ID-card file is not a JPEG. Save the scan as JPEG and choose it again.",
      "id_card_image.image_too_large": "The ID-card image has too many pixels. Scan again at a lower resolution.",
      "id_card_image.not_jpeg": "The ID-card file is not a JPEG. Save the scan as JPEG and choose it again.",
      session_expired: "The check's session expired. Starting a new one.",
      session_used: "This session's attempts are used up.",
      token_required: "This page may not be opened here: open the URL simverify-counter printed.",
      camera: "The camera cannot be used: check its cable and the browser's permission, or use a scanner file.",
      generic: "The request was not processed",
    },
    guidance: {
      FACES_MATCH: "Register the SIM.",
      FACES_DIFFER: "Do not register: the person is not the ID card's holder. If they dispute it, offer the check without face recognition.",
      NEAR_THRESHOLD: "A supervisor compares the customer with the ID card in person, and decides.",
      NO_FACE_IN_SELFIE: "Capture again: face the camera, remove anything covering the face.",
      SEVERAL_FACES_IN_SELFIE: "Capture again with only the customer in frame.",
      SELFIE_FACE_CUT: "Capture again with the whole face inside the picture.",
      SELFIE_FACE_COVERED: "Ask the customer to lower the mask (or scarf) below the chin for the capture, then capture again.",
      SELFIE_FACE_TOO_SMALL: "Capture again closer to the camera.",
      SELFIE_BLURRED: "Capture again holding still, with the lens clean.",
      SELFIE_POORLY_EXPOSED: "Capture again with light on the face (no back-light, no glare).",
      NO_FACE_ON_ID_CARD: "Rescan the ID card: the portrait must be visible, flat, without glare.",
      SEVERAL_FACES_ON_ID_CARD: "Rescan so that only the portrait page is in frame.",
      ID_CARD_FACE_TOO_SMALL: "Rescan closer, or at a higher resolution.",
      CHALLENGE_NOT_PERFORMED: "Ask the customer to do the steps shown, in order, and try again.",
      CHALLENGE_OUT_OF_ORDER: "The steps were done, but not in the order shown: try again in order.",
      NOT_FACING_CAMERA: "Start the capture looking straight at the camera.",
      IDENTITY_CHANGED: "The frames show more than one person: capture the customer alone; repeated, treat it as an attack.",
      DUPLICATE_FRAMES: "The terminal sent the same picture more than once: check that the camera is not frozen; report to support if repeated.",
      NO_PARALLAX: "The face moved like a flat picture (photo or screen): do not register; check that a real person is in front of the camera.",
      SCREEN_PATTERN: "The face was filmed off a display (phone, tablet or monitor): do not register; check that a real person is in front of the camera.",
      IMPLAUSIBLE_TIMING: "The terminal's frame times are impossible: a terminal fault or an injected burst; report to support.",
      ATTEMPTS_EXHAUSTED: "The attempts are used up: use the non-biometric registration path.",
    },
  },
};

const ARROWS = { TURN_LEFT: "←", TURN_RIGHT: "→", MOVE_CLOSER: "⤢", LOOK_UP: "↑", LOOK_DOWN: "↓" };
const ID_CARD_REASONS = ["NO_FACE_ON_ID_CARD", "SEVERAL_FACES_ON_ID_CARD", "ID_CARD_FACE_TOO_SMALL"];

const state = {
  lang: "ko",
  consentTextVersion: "",
  idCard: null,        // Uint8Array (JPEG)
  session: null,       // { sessionToken, challenge, attemptsAllowed }
  burst: null,         // { frames: [Uint8Array], times: [ms], lastFrameAt }
  stream: null,
  lastResult: null,
  fallbackReason: "",
};

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.lang][key];

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = `${t("title")} — simverify`;
  for (const element of document.querySelectorAll("[data-i18n]")) {
    const key = element.getAttribute("data-i18n");
    if (typeof TEXT[state.lang][key] === "string") element.textContent = TEXT[state.lang][key];
  }
  const other = state.lang === "ko" ? "en" : "ko";
  $("language").textContent = other === "en" ? "English" : "한국어";
  $("language").lang = other;
  renderSteps(-1);
  if (state.lastResult) renderResult(state.lastResult);
  renderFallbackWhy();
}

function show(screen) {
  for (const section of document.querySelectorAll("[data-screen]")) section.hidden = section.id !== `screen-${screen}`;
  const heading = document.querySelector(`#screen-${screen} h2`);
  if (heading) heading.focus();
}

function alertMessage(code, message, retry) {
  const known = TEXT[state.lang].errors[code];
  $("alert-text").textContent = known || `${t("errors").generic}: ${code}${message ? ` (${message})` : ""}`;
  $("alert-text").dataset.code = code;
  $("alert-retry").hidden = !retry;
  state.alertRetry = retry || null;
  $("alert").hidden = false;
  $("alert-close").focus();
}

function clearAlert() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
  state.alertRetry = null;
}

async function api(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : body,
      headers: body === undefined ? {} : { "Content-Type": "application/octet-stream" },
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (error) {
    throw { code: "server_unavailable", message: "" };
  }
  let payload = {};
  try { payload = await response.json(); } catch (error) { payload = {}; }
  if (!response.ok) throw { code: payload.error || `http_${response.status}`, message: payload.message || "" };
  return payload;
}

async function checkServer() {
  try {
    const status = await api("/api/status");
    state.consentTextVersion = status.consentTextVersion;
    $("server-status").textContent = t("serverUp");
    $("server-status").dataset.state = status.serving ? "up" : "down";
  } catch (error) {
    $("server-status").textContent = t("serverDown");
    $("server-status").dataset.state = "down";
  }
}

// Camera -------------------------------------------------------------------------------------

async function startCamera(video) {
  stopCamera();
  state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = state.stream;
  await new Promise((resolve) => {
    if (video.readyState >= 2) resolve(); else video.addEventListener("playing", resolve, { once: true });
  });
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  for (const video of document.querySelectorAll("video")) video.srcObject = null;
}

function clearCanvas(canvas) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  canvas.width = 1;
  canvas.height = 1;
}

function toJPEG(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob(async (blob) => {
      if (!blob) { reject(new Error("encode")); return; }
      resolve(new Uint8Array(await blob.arrayBuffer()));
    }, "image/jpeg", quality);
  });
}

// Consent ------------------------------------------------------------------------------------

function toConsent() {
  wipe();
  state.lastResult = null;
  state.session = null;
  state.fallbackReason = "";
  $("msisdn").value = "";
  show("consent");
}

function decline() {
  state.fallbackReason = "fallbackDeclined";
  toFallback();
}

function toFallback() {
  stopCamera();
  wipe();
  renderFallbackWhy();
  show("fallback");
}

function renderFallbackWhy() {
  let why = state.fallbackReason ? t(state.fallbackReason) : "";
  if (state.fallbackReason === "fallbackExhausted" && state.lastResult) {
    why += ` ${$("decision").textContent}: ${$("guidance").textContent}`;
  }
  $("fallback-why").textContent = why;
}

// ID card ------------------------------------------------------------------------------------

async function toIDCard() {
  clearAlert();
  $("card-preview").hidden = true;
  $("card-video").hidden = false;
  $("card-retake").hidden = true;
  $("card-capture").hidden = false;
  $("card-next").disabled = state.idCard === null;
  $("card-message").textContent = "";
  show("idcard");
  try {
    await startCamera($("card-video"));
  } catch (error) {
    $("card-message").textContent = t("errors").camera;
  }
}

async function captureCard() {
  const video = $("card-video");
  if (!video.videoWidth) { $("card-message").textContent = t("errors").camera; return; }
  const canvas = $("card-preview");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  setIDCard(await toJPEG(canvas, 0.92));
  canvas.hidden = false;
  video.hidden = true;
  stopCamera();
  $("card-retake").hidden = false;
  $("card-capture").hidden = true;
}

async function chooseCardFile(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  if (file.size > MAX_ID_CARD) { cardRefused("id_card_too_large"); return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[2] !== 0xff) {
    bytes.fill(0);
    cardRefused("id_card_not_jpeg");
    return;
  }
  setIDCard(bytes);
  try {
    const bitmap = await createImageBitmap(file);
    const canvas = $("card-preview");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    canvas.hidden = false;
    $("card-video").hidden = true;
  } catch (error) { /* the preview is a courtesy; the server judges the file */ }
  stopCamera();
  $("card-retake").hidden = false;
  $("card-capture").hidden = true;
}

function cardRefused(code) {
  setIDCard(null);
  $("card-message").textContent = t("errors")[code];
  $("card-message").dataset.code = code;
}

function setIDCard(bytes) {
  if (state.idCard) state.idCard.fill(0);
  state.idCard = bytes;
  $("card-next").disabled = bytes === null;
  if (bytes) { $("card-message").textContent = t("cardReady"); $("card-message").dataset.code = ""; }
}

// Challenge ----------------------------------------------------------------------------------

async function toChallenge() {
  clearAlert();
  stopCamera();
  clearCanvas($("card-preview"));
  if (!state.session) {
    try {
      state.session = await api("/api/session", new Uint8Array(0));
      state.attemptsRemaining = state.session.attemptsAllowed;
    } catch (error) {
      alertMessage(error.code, error.message, toChallenge);
      return;
    }
  }
  renderSteps(-1);
  $("prompt-arrow").textContent = "";
  $("prompt-text").textContent = state.session.challenge.map((step) => t("stepNames")[step] || step).join(" → ");
  $("countdown").textContent = "";
  $("progress").value = 0;
  $("quality-hint").textContent = "";
  $("challenge-start").disabled = false;
  show("challenge");
}

function renderSteps(current) {
  const list = $("steps");
  list.textContent = "";
  if (!state.session) return;
  state.session.challenge.forEach((step, index) => {
    const item = document.createElement("li");
    item.textContent = `${index + 1}. ${t("stepNames")[step] || step}`;
    item.dataset.step = step;
    if (index === current) item.setAttribute("aria-current", "step");
    list.appendChild(item);
  });
}

function prompt(arrow, text, countdown) {
  $("prompt-arrow").textContent = arrow;
  $("prompt-text").textContent = text;
  $("countdown").textContent = countdown;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The mean brightness of the oval's middle, 0-255, from a small copy of the frame.
function brightness(video) {
  const canvas = document.createElement("canvas");
  canvas.width = 32;
  canvas.height = 24;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, 32, 24);
  const data = context.getImageData(10, 4, 12, 16).data;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < data.length; i += 4) {
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    sum += y;
    sumSquares += y * y;
  }
  const n = data.length / 4;
  data.fill(0);
  clearCanvas(canvas);
  const mean = sum / n;
  return { mean, spread: Math.sqrt(Math.max(0, sumSquares / n - mean * mean)) };
}

// simverify's capture gates on the camera's picture now (POST /api/check): the answer, or null
// when it could not be asked. The frame is zeroed and the canvas cleared at once.
async function checkFrame(video, canvas) {
  if (!video.videoWidth) return null;
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  let bytes = null;
  try {
    bytes = await toJPEG(canvas, 0.9);
    // A hint that comes late is no hint: an answer after 900 ms is not waited for.
    return await Promise.race([api("/api/check", bytes), sleep(900).then(() => null)]);
  } catch (error) {
    return null;
  } finally {
    if (bytes) bytes.fill(0);
    clearCanvas(canvas);
  }
}

// The hint for a check's answer: the problem the gates named, "come a little closer" for a face
// under 1.25 times the smallest usable width (turns and the move-closer step change its size),
// "" when all is well, null without an answer.
function hintFor(check) {
  if (!check) return null;
  if (check.problem) return t("hints")[check.problem] || "";
  if (check.faceWidth > 0 && check.faceWidth < 1.25 * check.minimumFaceWidth) return t("hints").closer;
  return "";
}

async function runChallenge() {
  $("challenge-start").disabled = true;
  clearAlert();
  wipeBurst();  // a burst kept for "Send again" is not sent now: zero it before capturing anew
  const video = $("face-video");
  try {
    await startCamera(video);
  } catch (error) {
    $("challenge-start").disabled = false;
    alertMessage("camera", "", null);
    return;
  }
  // The countdown, with simverify's check of the preview each second (the same capture gates a
  // burst's frames pass); while it names a problem after the countdown, the start waits for the
  // customer to fix it, up to SCHEDULE.hold, the hint on screen. Without an answer (simverify
  // unreachable), the page's own darkness hint.
  const checkCanvas = document.createElement("canvas");
  let blocking = false;
  const checkAndHint = async () => {
    const light = brightness(video);
    const check = await checkFrame(video, checkCanvas);
    const hint = hintFor(check);
    blocking = !!(check && check.problem);
    $("quality-hint").textContent =
      hint !== null ? hint : light.mean < 50 ? t("tooDark") : light.spread < 6 ? t("tooSmall") : "";
  };
  for (let second = SCHEDULE.countdown / 1000; second > 0; second--) {
    prompt("", t("getReady"), String(second));
    const started = performance.now();
    await checkAndHint();
    await sleep(Math.max(0, 1000 - (performance.now() - started)));
  }
  const holdUntil = performance.now() + SCHEDULE.hold;
  while (blocking && performance.now() < holdUntil) {
    prompt("", t("getReady"), "…");
    const started = performance.now();
    await checkAndHint();
    await sleep(Math.max(0, 500 - (performance.now() - started)));
  }
  clearCanvas(checkCanvas);
  const steps = state.session.challenge;
  const phases = [{ key: "frontal", ms: SCHEDULE.frontal, text: t("lookAtCamera"), arrow: "●", step: -1 }]
    .concat(steps.map((step, index) => ({ ms: SCHEDULE.step, text: t(step), arrow: ARROWS[step] || "", step: index })))
    .concat([{ ms: SCHEDULE.back, text: t("lookAgain"), arrow: "●", step: steps.length }]);
  const total = phases.reduce((sum, phase) => sum + phase.ms, 0);
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d");
  const frames = [];
  const times = [];
  const pending = [];
  // A frame is captured only when the camera has delivered a new one since the last capture: a
  // stalled camera must not send the same picture twice (the server refuses repeated frames).
  let delivered = 0;
  let captured = -1;
  const count = () => { delivered++; if (state.stream) video.requestVideoFrameCallback(count); };
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(count); else delivered = NaN;
  const began = performance.now();
  let phaseIndex = -1;
  let lastFrameAt = began;
  for (let next = began; frames.length + pending.length < MAX_FRAMES; next += SCHEDULE.interval) {
    const now = performance.now();
    if (next > now) await sleep(next - now);
    const elapsed = performance.now() - began;
    if (elapsed >= total) break;
    let into = elapsed;
    let index = 0;
    while (index < phases.length - 1 && into >= phases[index].ms) { into -= phases[index].ms; index++; }
    if (index !== phaseIndex) {
      phaseIndex = index;
      prompt(phases[index].arrow, phases[index].text, "");
      renderSteps(phases[index].step);
    }
    $("progress").value = Math.min(100, Math.round((elapsed / total) * 100));
    if (delivered === captured) continue;
    captured = delivered;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    lastFrameAt = performance.now();
    times.push(Math.round(lastFrameAt - began));
    pending.push(toJPEG(canvas, 0.9));
  }
  for (const bytes of await Promise.all(pending)) frames.push(bytes);
  clearCanvas(canvas);
  stopCamera();
  $("progress").value = 100;
  renderSteps(-1);
  const first = times[0];
  state.burst = { frames, times: times.map((time) => time - first), lastFrameAt };
  await send();
}

// Sending and the decision -------------------------------------------------------------------

function u32(value) {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, false);
  return bytes;
}

function uploadBody() {
  const header = new TextEncoder().encode(JSON.stringify({
    sessionToken: state.session.sessionToken,
    frameTimesMs: state.burst.times,
    consentGiven: true,
    consentTextVersion: state.consentTextVersion,
    msisdn: $("msisdn").value.replace(/[^0-9+]/g, ""),
  }));
  const parts = [new TextEncoder().encode("SVC1"), u32(header.length), header, u32(state.idCard.length), state.idCard,
    u32(state.burst.frames.length)];
  for (const frame of state.burst.frames) parts.push(u32(frame.length), frame);
  let length = 0;
  for (const part of parts) length += part.length;
  const body = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) { body.set(part, offset); offset += part.length; }
  return body;
}

async function send() {
  show("sending");
  const body = uploadBody();
  let result;
  try {
    result = await api("/api/verify", body);
  } catch (error) {
    body.fill(0);
    if (error.code === "session_expired" || error.code === "session_used") {
      state.session = null;
      wipeBurst();
      alertMessage(error.code, error.message, null);
      await toChallenge();
      return;
    }
    if (error.code.startsWith("id_card")) {
      wipeBurst();
      setIDCard(null);
      await toIDCard();
      cardRefused(error.code);
      return;
    }
    // Nothing is lost: the consent, the ID card and this burst stay in memory for "Send again".
    show("challenge");
    alertMessage(error.code, error.message, error.code === "server_unavailable" ? send : null);
    return;
  }
  body.fill(0);
  result.lastFrameToDecision = Math.round(performance.now() - state.burst.lastFrameAt);
  wipeBurst();
  state.attemptsRemaining = result.attemptsRemaining;
  state.lastResult = result;
  const failed = result.decision === "RETRY" || result.decision === "LIVENESS_FAILED";
  if (result.decision === "FALLBACK" || (failed && result.attemptsRemaining === 0)) {
    state.fallbackReason = "fallbackExhausted";
  }
  renderResult(result);
  if (state.fallbackReason === "fallbackExhausted") { toFallback(); return; }
  show("result");
}

function renderResult(result) {
  const decision = $("decision");
  decision.textContent = `${t("decisions")[result.decision] || result.decision} (${result.decision})`;
  decision.dataset.decision = result.decision;
  const guidance = (result.reasons || []).map((reason) => t("guidance")[reason] || reason);
  $("guidance").textContent = guidance.join(" ");
  $("attempts").textContent = t("attemptsLeft")(result.attemptsRemaining);
  $("receipt").textContent = result.receipt || t("noReceipt");
  $("latency").textContent = `${result.lastFrameToDecision} ms`;
  const failed = result.decision === "RETRY" || result.decision === "LIVENESS_FAILED";
  const exhausted = result.decision === "FALLBACK" || (failed && result.attemptsRemaining === 0);
  const rescan = result.decision === "RETRY" && (result.reasons || []).some((reason) => ID_CARD_REASONS.includes(reason));
  $("result-again").hidden = !failed || exhausted || rescan;
  $("result-rescan").hidden = !rescan || exhausted;
  $("result-fallback").hidden = !(exhausted || result.decision === "REJECTED" || result.decision === "MANUAL_REVIEW");
  $("result-fallback").textContent = t("toFallback");
}

function wipeBurst() {
  if (state.burst) for (const frame of state.burst.frames) frame.fill(0);
  state.burst = null;
}

function wipe() {
  wipeBurst();
  setIDCard(null);
  clearCanvas($("card-preview"));
}

// Start --------------------------------------------------------------------------------------

function init() {
  $("language").addEventListener("click", () => { state.lang = state.lang === "ko" ? "en" : "ko"; applyLanguage(); checkServer(); });
  $("alert-close").addEventListener("click", clearAlert);
  $("alert-retry").addEventListener("click", () => { const retry = state.alertRetry; clearAlert(); if (retry) retry(); });
  $("consent-agree").addEventListener("click", toIDCard);
  $("consent-decline").addEventListener("click", decline);
  $("card-capture").addEventListener("click", captureCard);
  $("card-file").addEventListener("change", chooseCardFile);
  $("card-retake").addEventListener("click", () => { setIDCard(null); toIDCard(); });
  $("card-next").addEventListener("click", toChallenge);
  $("challenge-start").addEventListener("click", runChallenge);
  $("result-again").addEventListener("click", toChallenge);
  $("result-rescan").addEventListener("click", () => { setIDCard(null); toIDCard(); });
  $("result-fallback").addEventListener("click", toFallback);
  $("result-done").addEventListener("click", toConsent);
  $("fallback-done").addEventListener("click", toConsent);
  window.addEventListener("pagehide", () => { stopCamera(); wipe(); });
  applyLanguage();
  checkServer();
  show("consent");
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", init);
