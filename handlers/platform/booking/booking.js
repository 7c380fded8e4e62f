// The reference candidate booking page: plain JavaScript, no build step, no framework.
//
// Opened as /booking/#request=ID&token=TOKEN (the token: the candidate's driver's JWT). It reads
// the request, lists the times it offers in the browser's time zone, holds the one picked (a
// countdown shows how long the hold lasts), books it, and offers each interview as an .ics file.
// It only calls the public API of its own origin. Nothing from the server is ever parsed as
// HTML: text goes in with textContent (the Content-Security-Policy forbids inline script too).
"use strict";

(function () {
  const API = "/api/v1";
  // ICU (so Chromium) still names some zones by their old IANA links: the current names.
  const RENAMED = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv", "America/Godthab": "America/Nuuk",
    "Atlantic/Faeroe": "Atlantic/Faroe", "Pacific/Enderbury": "Pacific/Kanton",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis",
  };
  const ZONE = zoneName();
  // Day and time in the browser's zone: "Mon 3 Mar" and "14:30" (a 24-hour clock).
  const DAY = new Intl.DateTimeFormat("en-GB", {weekday: "short", day: "numeric", month: "short"});
  const TIME = new Intl.DateTimeFormat("en-GB", {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  const FULL = new Intl.DateTimeFormat("en-GB", {dateStyle: "full", timeStyle: "short"});
  // Codes of a hold or book refused because somebody took (part of) the time meanwhile.
  const TAKEN = new Set(["overlap", "held", "buffer", "daily_limit", "weekly_limit", "time_off",
                         "outside_working_hours", "too_soon", "conflict", "contention",
                         "option_unavailable", "hold_mismatch"]);
  const KINDS = {video_call: "Video call", phone_call: "Phone call", in_person: "In person"};

  const state = {
    requestId: null,
    token: null,       // kept in memory only, never in the address bar or in storage
    request: null,
    options: [],
    hold: null,        // {hold, option, deadline (local ms)}
    timer: null,
    busy: false,
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    message: $("message"), access: $("access"), accessRequest: $("access-request"),
    accessToken: $("access-token"), summary: $("summary"), summaryList: $("summary-list"),
    choose: $("choose"), chooseHeading: $("choose-heading"), zone: $("zone"),
    options: $("options"), optionList: $("option-list"), noOptions: $("no-options"),
    holdButton: $("hold-button"), refreshButton: $("refresh-button"), hold: $("hold"),
    holdHeading: $("hold-heading"), holdTimes: $("hold-times"),
    countdown: $("hold-countdown"), bookButton: $("book-button"),
    releaseButton: $("release-button"), confirmation: $("confirmation"),
    confirmationHeading: $("confirmation-heading"), confirmationZone: $("confirmation-zone"),
    confirmationList: $("confirmation-list"),
  };

  // ---- the API -------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || "HTTP " + status);
      this.status = status;
      this.code = (problem && problem.code) || (status ? "error" : "network");
      this.problem = problem || {};
    }
  }

  // One call to the API; the parsed JSON (or the response itself for `raw`), or an ApiError.
  async function api(method, path, body, raw) {
    const headers = {"Authorization": "Bearer " + state.token, "Accept": raw ? raw : "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "omit",
      });
    } catch (error) {
      throw new ApiError(0, {detail: "The server could not be reached. Check your connection and try again."});
    }
    if (response.ok) {
      if (raw) return response;
      return response.status === 204 ? null : response.json();
    }
    let problem = null;
    try {
      problem = await response.json();
    } catch (error) {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }

  // ---- messages ------------------------------------------------------------------------

  function say(text, tone) {
    el.message.textContent = text || "";
    el.message.dataset.tone = text ? (tone || "info") : "";
  }

  // What to tell the candidate about a refused call, in plain words; null when it is not one
  // of those the page explains itself.
  function explain(error) {
    switch (error.code) {
      case "unauthorized":
        return "Your access token was not accepted: it may be mistyped or have expired. " +
               "Paste the token from your link again, or ask your coordinator for a new link.";
      case "not_found":
        return "We could not find this booking request. Check the request number in your link, " +
               "or ask your coordinator.";
      case "request_expired":
        return "This booking request has expired, so its times are no longer offered. " +
               "Please contact your coordinator for new times.";
      case "request_cancelled":
        return "This booking request was withdrawn by your coordinator. " +
               "Please contact them if you still need a time.";
      case "hold_expired":
        return "Your hold ran out before the booking was made. Please pick a time again.";
      case "rate_limited":
        return "Too many attempts in a short time. Please wait a moment and try again.";
      case "network":
        return error.message;
      default:
        if (error.status === 401) return explain({code: "unauthorized"});
        if (error.status === 404) return explain({code: "not_found"});
        return null;
    }
  }

  function fail(error) {
    const text = explain(error) ||
      "Something went wrong (" + (error.message || "error " + error.status) + "). Please try again.";
    say(text, "error");
    if (error.code === "unauthorized" || error.status === 401 || error.status === 404) {
      showOnly([]);
      showAccess();
    }
  }

  // ---- formatting ----------------------------------------------------------------------

  // "Asia/Kolkata (India Standard Time)": the browser's zone, as the times are shown in it.
  function zoneName() {
    const id = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!id) return "your local time zone";
    let long = "";
    try {
      const parts = new Intl.DateTimeFormat("en-GB", {timeZoneName: "longGeneric"}).formatToParts(new Date());
      long = (parts.find((part) => part.type === "timeZoneName") || {}).value || "";
    } catch (error) {
      long = "";
    }
    const name = RENAMED[id] || id;
    return long && long !== name && !/^GMT|^UTC/.test(long) ? name + " (" + long + ")" : name;
  }

  function span(start, end) {
    const from = new Date(start);
    const to = new Date(end);
    const sameDay = DAY.format(from) === DAY.format(to);
    return DAY.format(from) + ", " + TIME.format(from) + " – " +
           (sameDay ? "" : DAY.format(to) + ", ") + TIME.format(to);
  }

  function minutes(start, end) {
    return Math.round((new Date(end) - new Date(start)) / 60000);
  }

  function node(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") element.textContent = value;
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child) element.append(child);
    return element;
  }

  function timeNode(start, end) {
    return node("time", {datetime: start, text: span(start, end)});
  }

  // The people of a round: their names (and pictures when given as https URLs).
  function people(interviewers) {
    const list = node("ul", {class: "people"});
    for (const person of interviewers || []) {
      const item = node("li", {"data-testid": "interviewer"});
      if (typeof person.image === "string" && person.image.startsWith("https://")) {
        const picture = node("img", {src: person.image, alt: "", width: 24, height: 24,
                                     referrerpolicy: "no-referrer", loading: "lazy"});
        item.append(picture);
      }
      item.append(document.createTextNode(person.title || "Interviewer " + person.id));
      list.append(item);
    }
    return list;
  }

  function roundsList(rounds) {
    const list = node("ol", {class: "rounds"});
    rounds.forEach((round, index) => {
      const item = node("li", {"data-testid": "round"},
        node("span", {class: "round-name", text: rounds.length > 1 ? "Round " + (index + 1) + ": " : ""}),
        timeNode(round.start_at, round.end_at),
        node("span", {class: "duration", text: " (" + minutes(round.start_at, round.end_at) + " min) with"}),
        people(round.interviewers));
      list.append(item);
    });
    return list;
  }

  // ---- views ---------------------------------------------------------------------------

  function showOnly(sections) {
    for (const section of [el.access, el.summary, el.choose, el.hold, el.confirmation]) {
      section.hidden = !sections.includes(section);
    }
  }

  function showAccess() {
    el.access.hidden = false;
    if (state.requestId && !el.accessRequest.value) el.accessRequest.value = state.requestId;
  }

  function renderSummary(request) {
    el.summaryList.replaceChildren();
    const facts = [
      ["How", KINDS[request.kind] || request.kind],
      ["Rounds", request.rounds.map((round) => round.duration_minutes + " min").join(", then ")],
    ];
    if (request.location && request.kind === "in_person") facts.push(["Where", request.location]);
    if (request.status === "open") {
      facts.push(["Pick a time before", FULL.format(new Date(request.expires_at))]);
    }
    for (const [name, value] of facts) {
      el.summaryList.append(node("li", {}, node("strong", {text: name + ": "}), value));
    }
  }

  function renderOptions(options) {
    el.zone.textContent = "Times are shown in " + ZONE + ".";
    el.optionList.replaceChildren();
    options.forEach((option, index) => {
      const id = "option-" + index;
      const input = node("input", {type: "radio", name: "option", id, value: String(index),
                                   "aria-describedby": id + "-rounds"});
      const label = node("label", {for: id, class: "option-time"}, timeNode(option.start_at, option.end_at));
      const details = roundsList(option.rounds);
      details.id = id + "-rounds";
      el.optionList.append(node("div", {class: "option", "data-testid": "option",
                                        "data-start": option.start_at}, input, label, details));
    });
    el.options.hidden = options.length === 0;
    el.holdButton.hidden = options.length === 0;
    el.noOptions.hidden = options.length !== 0;
  }

  function renderHold(option) {
    el.holdTimes.replaceChildren(
      node("p", {class: "option-time"}, timeNode(option.start_at, option.end_at)),
      roundsList(option.rounds),
      node("p", {class: "zone", text: "Times are shown in " + ZONE + "."}));
  }

  // ---- the hold's countdown ------------------------------------------------------------

  function stopTimer() {
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
  }

  function tick() {
    if (!state.hold) return stopTimer();
    const left = Math.max(0, Math.ceil((state.hold.deadline - Date.now()) / 1000));
    const text = String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
    el.countdown.textContent = text;
    el.countdown.setAttribute("datetime", "PT" + Math.floor(left / 60) + "M" + (left % 60) + "S");
    if (left === 0) {
      stopTimer();
      state.hold = null;
      run(() => loadOptions("Your hold ran out, so the time was released. Please pick a time again.",
                            "error"));
    }
  }

  function startCountdown(hold, option) {
    // The hold lasts expires_at - created_at (both the server's clock); counted from now on
    // this clock, so a browser whose clock is off still shows the right time left.
    const ttl = Math.max(0, new Date(hold.expires_at) - new Date(hold.created_at));
    state.hold = {hold, option, deadline: Date.now() + ttl};
    stopTimer();
    tick();
    state.timer = setInterval(tick, 1000);
  }

  // ---- the steps -----------------------------------------------------------------------

  async function run(step) {
    if (state.busy) return;
    state.busy = true;
    document.body.setAttribute("aria-busy", "true");
    try {
      await step();
    } catch (error) {
      if (error instanceof ApiError) fail(error);
      else {
        say("Something went wrong on this page. Please reload it and try again.", "error");
        console.warn(error);
      }
    } finally {
      state.busy = false;
      document.body.removeAttribute("aria-busy");
    }
  }

  async function start() {
    say("Loading your booking request…");
    const answer = await api("GET", "/scheduling_requests/" + state.requestId);
    const request = answer.scheduling_request;
    state.request = request;
    renderSummary(request);
    switch (request.status) {
      case "open":
        return loadOptions();
      case "booked":
        return showBooked(request, "This request is already booked.");
      case "expired":
        showOnly([el.summary]);
        return say(explain({code: "request_expired"}), "error");
      case "cancelled":
        showOnly([el.summary]);
        return say(explain({code: "request_cancelled"}), "error");
      default:
        showOnly([el.summary]);
        return say("This request cannot be booked (" + request.status + ").", "error");
    }
  }

  async function loadOptions(notice, tone) {
    let answer;
    try {
      answer = await api("GET", "/scheduling_requests/" + state.requestId + "/options");
    } catch (error) {
      if (error.code === "already_booked") return start();
      showOnly([el.summary]);
      throw error;
    }
    state.options = answer.options;
    renderOptions(state.options);
    showOnly([el.summary, el.choose]);
    if (notice) say(notice, tone);
    else if (state.options.length) say(state.options.length + " times are available.");
    else say("No times are free right now.");
    return answer;
  }

  async function holdChosen() {
    const picked = el.optionList.querySelector("input[name=option]:checked");
    if (!picked) return say("Please pick a time first.", "error");
    const option = state.options[Number(picked.value)];
    say("Holding " + span(option.start_at, option.end_at) + "…");
    let answer;
    try {
      answer = await api("POST", "/holds", {hold: {
        interviewee_id: state.request.interviewee_id,
        scheduling_request_id: state.request.id,
        slots: option.rounds.map((round) => ({start_at: round.start_at, end_at: round.end_at,
                                              interviewer_ids: round.interviewer_ids})),
      }});
    } catch (error) {
      return refused(error);
    }
    renderHold(option);
    showOnly([el.summary, el.hold]);
    startCountdown(answer.hold, option);
    say("We are holding " + span(option.start_at, option.end_at) + " for you. Book it before the countdown ends.");
    el.holdHeading.focus();
  }

  // A hold or book refused: the time taken meanwhile, the request over, or the hold run out.
  async function refused(error) {
    if (TAKEN.has(error.code)) {
      return loadOptions("That time was just taken by someone else, sorry. " +
                         "The times below are still free: please pick another.", "error");
    }
    if (error.code === "hold_expired") return loadOptions(explain(error), "error");
    if (error.code === "already_booked" || error.code === "request_expired" ||
        error.code === "request_cancelled") {
      await start();
      if (error.code !== "already_booked") say(explain(error), "error");
      return;
    }
    throw error;
  }

  async function bookHeld() {
    const held = state.hold;
    if (!held) return loadOptions();
    say("Booking " + span(held.option.start_at, held.option.end_at) + "…");
    let answer;
    try {
      answer = await api("POST", "/scheduling_requests/" + state.requestId + "/book",
                         {option: {start_at: held.option.start_at, hold_id: held.hold.id}});
    } catch (error) {
      stopTimer();
      state.hold = null;
      return refused(error);
    }
    stopTimer();
    state.hold = null;
    state.request = answer.scheduling_request;
    return showBooked(answer.scheduling_request, "Your interview is booked.");
  }

  async function release() {
    const held = state.hold;
    stopTimer();
    state.hold = null;
    if (held) {
      try {
        await api("DELETE", "/holds/" + held.hold.id);
      } catch (error) {
        if (error.status !== 404 && error.status !== 409) throw error;  // gone already: fine
      }
    }
    await loadOptions("The time was released. Please pick another.");
    el.chooseHeading.focus();
  }

  // The booked interviews: their times and interviewers, each with its calendar file.
  async function showBooked(request, notice) {
    renderSummary(request);
    el.confirmationList.replaceChildren();
    el.confirmationZone.textContent = "Times are shown in " + ZONE + ".";
    const ids = request.interview_ids || [];
    for (const [index, id] of ids.entries()) {
      const item = node("li", {"data-testid": "booked-interview"});
      el.confirmationList.append(item);
      try {
        const interview = (await api("GET", "/interviews/" + id)).interview;
        item.append(
          node("span", {class: "round-name", text: ids.length > 1 ? "Round " + (index + 1) + ": " : ""}),
          timeNode(interview.start_at, interview.end_at),
          node("span", {class: "duration", text: " with"}),
          people(interview.interviewers || (interview.interviewer ? [interview.interviewer] : [])));
      } catch (error) {
        item.append(node("span", {text: "Interview " + id}));
      }
      try {
        const file = await (await api("GET", "/interviews/" + id + "/calendar", undefined,
                                      "text/calendar")).blob();
        const url = URL.createObjectURL(new Blob([file], {type: "text/calendar"}));
        item.append(node("p", {}, node("a", {
          href: url, download: ids.length > 1 ? "interview-" + (index + 1) + ".ics" : "interview.ics",
          "data-testid": "ics-link", class: "button",
          text: "Add to calendar (.ics)" + (ids.length > 1 ? " – round " + (index + 1) : ""),
        })));
      } catch (error) {
        item.append(node("p", {text: "The calendar file could not be loaded."}));
      }
    }
    showOnly([el.summary, el.confirmation]);
    say(notice);
    el.confirmationHeading.focus();
  }

  // ---- wiring --------------------------------------------------------------------------

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const request = (params.get("request") || "").trim();
    const token = (params.get("token") || "").trim();
    if (token) {
      // The token stays in memory only: out of the address bar, the history and bookmarks.
      history.replaceState(null, "", location.pathname + location.search +
                           (request ? "#request=" + encodeURIComponent(request) : ""));
    }
    return {request, token};
  }

  function open(request, token) {
    if (!/^[0-9]+$/.test(request) || !token) {
      state.requestId = /^[0-9]+$/.test(request) ? request : state.requestId;
      showOnly([]);
      showAccess();
      if (token) say("Your link is incomplete: it needs a request number and an access token.", "error");
      else if (request) say("Paste your access token to continue.");
      return;
    }
    stopTimer();
    state.requestId = request;
    state.token = token;
    state.hold = null;
    run(start);
  }

  el.access.addEventListener("submit", (event) => {
    event.preventDefault();
    open(el.accessRequest.value.trim(), el.accessToken.value.trim());
    el.accessToken.value = "";
  });
  el.choose.addEventListener("submit", (event) => {
    event.preventDefault();
    run(holdChosen);
  });
  el.refreshButton.addEventListener("click", () => run(() => loadOptions()));
  el.bookButton.addEventListener("click", () => run(bookHeld));
  el.releaseButton.addEventListener("click", () => run(release));
  window.addEventListener("hashchange", () => {
    const link = readHash();
    if (link.token) open(link.request, link.token);
  });

  const link = readHash();
  open(link.request, link.token);
})();
