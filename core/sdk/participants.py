"""Who an analysis is about, as CRM sinks match them: participant emails from a result's metadata, the
recovery of e-mails a meeting vendor withheld (``fill_emails``), and each named speaker's own figures
(``speakers_of``, ``attribute``, ``person_view``) so a sink writes a person's record with that person's
scores, never the rep's (``internal`` speakers) onto a prospect."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.sdk.results import ResultView

__all__ = [
    "participant_emails",
    "matchable_emails",
    "NewPerson",
    "new_person",
    "Registrant",
    "domain_hints",
    "fill_emails",
    "unmatched_participants",
    "Speaker",
    "speakers_of",
    "named_speakers",
    "prospect_speakers",
    "speaker_for",
    "own_domains",
    "Attribution",
    "attribute",
    "attribution_for",
    "PersonView",
    "person_view",
    "person_views",
    "speakers_line",
    "DEFAULT_SPEAKER_FIELDS",
    "SpeakerField",
    "speaker_fields",
]


def participant_emails(data: Mapping[str, Any]) -> list[str]:
    """Emails from ``metadata.crm.emails`` and ``metadata.participants[].email``, lower-cased, in order."""
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    crm: Mapping[str, Any] = metadata.get("crm") or {}
    found = [str(e) for e in crm.get("emails") or []]
    found += [str(p.get("email")) for p in metadata.get("participants") or [] if p.get("email")]
    return list(dict.fromkeys(e.strip().lower() for e in found if "@" in e))


def matchable_emails(data: Mapping[str, Any], skip_domains: Iterable[str], limit: int) -> list[str]:
    """Participant emails outside ``skip_domains`` (consumer mail, the tenant's own), at most ``limit``."""
    skip = {d.lower() for d in skip_domains}
    return [e for e in participant_emails(data) if e.rsplit("@", 1)[-1] not in skip][:limit]


@dataclass(frozen=True)
class NewPerson:
    """What a CRM record for an unmatched participant is created with."""

    email: str
    first_name: str
    last_name: str
    company: str


def _names(data: Mapping[str, Any]) -> dict[str, str]:
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    people = metadata.get("participants") or []
    return {str(p["email"]).strip().lower(): str(p.get("name") or "") for p in people if p.get("email")}


def new_person(data: Mapping[str, Any], email: str) -> NewPerson:
    """The participant's name (from ``metadata.participants``, else the address) and company (its domain)."""
    local, _, domain = email.partition("@")
    name = _names(data).get(email, "").strip() or " ".join(
        w.capitalize() for w in re.split(r"[._+-]+", local) if w
    )
    first, _, last = name.rpartition(" ")
    company = domain.split(".")[0].capitalize() if domain else ""
    return NewPerson(email, first, last or local, company or domain)


# Filling in hidden e-mails -------------------------------------------------------------------------------
# Meeting vendors may withhold guests' e-mails (participants then carry ``email: None``). ``fill_emails``
# recovers what it can from what the meeting's host gave the vendor (registrants, calendar invitees, the
# display name itself) and says, per person, how each e-mail was found (``matched_by``) or why not
# (``unmatched_reason``), so CRM sinks match more people and the job records the rest.

_PHONE = re.compile(r"^[+\d][\d\s().-]{5,}$")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DOMAIN = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")


@dataclass(frozen=True)
class Registrant:
    """Someone who registered for the meeting: the vendor's registrant id, e-mail and name."""

    id: str
    email: str
    name: str


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[^a-z0-9]+", text.lower()) if t)


def _local_forms(name: str) -> set[str]:
    """The usual local parts of ``name``'s address: jane.buyer, janebuyer, jbuyer, j.buyer, jane_buyer…"""
    words = _tokens(_DOMAIN.sub(" ", re.sub(r"\(.*?\)", " ", name)))
    if len(words) < 2:
        return set()
    first, last = words[0], words[-1]
    return {f"{first}{s}{last}" for s in ("", ".", "_", "-")} | {f"{first[0]}{last}", f"{first[0]}.{last}"}


def _same_name(a: str, b: str) -> bool:
    return bool(_tokens(a)) and _tokens(a) == _tokens(b)


def _one(found: list[str]) -> str | None | bool:
    """The single candidate, None when there is none, False when several are equally good."""
    unique = list(dict.fromkeys(found))
    return unique[0] if len(unique) == 1 else (None if not unique else False)


def domain_hints(name: str) -> list[str]:
    """Domains named in a display name, e.g. ``Jane Buyer (buyer-corp.example)``."""
    return list(dict.fromkeys(_DOMAIN.findall(name.lower())))


def _by_invitee(name: str, invitees: list[str]) -> str | None | bool:
    forms, hints = _local_forms(name), set(domain_hints(name))
    found = [e for e in invitees if e.partition("@")[0] in forms]
    if len(set(found)) > 1 and hints:  # the display name's domain settles it
        found = [e for e in found if e.rpartition("@")[2] in hints]
    return _one(found)


def _recover(
    person: dict[str, Any], registrants: list[Registrant], invitees: list[str]
) -> tuple[str | None, str]:
    """(e-mail, how) for one person without an e-mail; (None, reason) when it cannot be told."""
    name = str(person.get("name") or "")
    rid = str(person.get("registrant_id") or "")
    by_id = next((r.email for r in registrants if rid and r.id == rid and r.email), None)
    if by_id:
        return by_id, "registrant_id"
    if (typed := _EMAIL.fullmatch(name.strip())) is not None:
        return typed[0], "display_name"
    candidates = [
        ("registrant_name", _one([r.email for r in registrants if r.email and _same_name(r.name, name)])),
        ("invitee_name", _by_invitee(name, invitees)),
    ]
    for how, found in candidates:
        if found is False:
            return None, "ambiguous_name"
        if found:
            return str(found), how
    return None, "dial_in" if _PHONE.match(name.strip()) else "email_hidden"


def fill_emails(
    people: list[dict[str, Any]], registrants: Iterable[Registrant], invitees: Iterable[str]
) -> list[dict[str, Any]]:
    """``people`` with hidden e-mails recovered where the meeting's registrants or invitees tell them.

    Each person gets ``matched_by`` (``vendor``, ``registrant_id``, ``display_name``, ``registrant_name``,
    ``invitee_name``, or None); one left without an e-mail gets ``unmatched_reason`` (``email_hidden``,
    ``ambiguous_name``, ``dial_in``) and the ``domain_hints`` its display name gives."""
    regs = list(registrants)
    taken = {str(p["email"]).lower() for p in people if p.get("email")}
    free = [e.strip().lower() for e in invitees if "@" in e]
    out = []
    for person in people:
        if person.get("email"):
            out.append({**person, "matched_by": person.get("matched_by") or "vendor"})
            continue
        available = [r for r in regs if r.email.lower() not in taken]
        email, how = _recover(person, available, [e for e in free if e not in taken])
        if email is None:
            hints = domain_hints(str(person.get("name") or ""))
            out.append({**person, "matched_by": None, "unmatched_reason": how, "domain_hints": hints})
            continue
        taken.add(email.lower())
        out.append({**person, "email": email.lower(), "matched_by": how})
    return out


def unmatched_participants(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Participants a result names without an e-mail: ``name``, ``reason`` and ``domain_hints``."""
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    return [
        {
            "name": str(p.get("name") or ""),
            "reason": str(p.get("unmatched_reason") or "email_hidden"),
            "domain_hints": list(p.get("domain_hints") or []),
        }
        for p in metadata.get("participants") or []
        if not p.get("email")
    ]


# Who said what -----------------------------------------------------------------------------------------
# A result names its voices (``speakers[]``: name, email, internal, trust_score, vad, talk_share…). A CRM
# sink then writes each prospect's record with that prospect's own figures, never a rep's (``internal``:
# the e-mail is one of the tenant's own domains), and names the prospects in the call's activity.

# Which view fields a speaker's own figures replace (view field -> path in ``speakers[]``); the others
# (dominant emotion, low-credibility seconds, link, date) stay the meeting's. A mapping's
# ``speaker_fields`` overrides these.
DEFAULT_SPEAKER_FIELDS: dict[str, str] = {
    "trust_score": "trust_score",
    "valence": "vad.valence",
    "arousal": "vad.arousal",
    "dominance": "vad.dominance",
    "talk_share": "talk_share",
    "talk_time": "talk_time",
}


@dataclass(frozen=True)
class Speaker:
    """One person's voice(s) in a result: who (``name``, ``email``, ``internal``) and their own figures."""

    id: str
    name: str | None
    email: str | None
    internal: bool | None
    named_by: str | None
    trust_score: float | None
    valence: float | None
    arousal: float | None
    dominance: float | None
    talk_share: float
    talk_time: float
    flags: tuple[str, ...] = ()
    voices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The speaker's name, else the voice id (``S1``)."""
        return self.name or self.id

    def figure(self, path: str) -> Any:
        """The value at ``path`` (``trust_score``, ``vad.valence``, ``talk_share``…; None when absent)."""
        return getattr(self, path.rsplit(".", 1)[-1], None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _speaker(raw: Mapping[str, Any]) -> Speaker:
    vad: Mapping[str, Any] = raw.get("vad") or {}
    quality: Mapping[str, Any] = raw.get("quality") or {}
    email = str(raw["email"]).strip().lower() if raw.get("email") else None
    internal = raw.get("internal")
    return Speaker(
        id=str(raw.get("id") or ""),
        name=str(raw["name"]) if raw.get("name") else None,
        email=email if email and "@" in email else None,
        internal=internal if isinstance(internal, bool) else None,
        named_by=str(raw["named_by"]) if raw.get("named_by") else None,
        trust_score=_number(raw.get("trust_score")),
        valence=_number(vad.get("valence")),
        arousal=_number(vad.get("arousal")),
        dominance=_number(vad.get("dominance")),
        talk_share=_number(raw.get("talk_share")) or 0.0,
        talk_time=_number(raw.get("talk_time")) or 0.0,
        flags=tuple(str(f) for f in quality.get("flags") or []),
        voices=(str(raw.get("id") or ""),),
    )


def _weighted(values: list[tuple[float | None, float]]) -> float | None:
    known = [(v, max(w, 1e-9)) for v, w in values if v is not None]
    if not known:
        return None
    return sum(v * w for v, w in known) / sum(w for _, w in known)


def _merge(voices: list[Speaker]) -> Speaker:
    """One person split over several voices (``name_on_several_voices``): talk summed, scores weighted."""
    if len(voices) == 1:
        return voices[0]
    first = max(voices, key=lambda s: s.talk_time)

    def mean(key: str) -> float | None:
        return _weighted([(getattr(s, key), s.talk_time) for s in voices])

    return replace(
        first,
        trust_score=mean("trust_score"),
        valence=mean("valence"),
        arousal=mean("arousal"),
        dominance=mean("dominance"),
        talk_share=min(1.0, sum(s.talk_share for s in voices)),
        talk_time=sum(s.talk_time for s in voices),
        flags=tuple(dict.fromkeys(f for s in voices for f in s.flags)),
        voices=tuple(v for s in voices for v in s.voices),
    )


def speakers_of(data: Mapping[str, Any]) -> list[Speaker]:
    """The result's speakers, one per person (voices sharing an e-mail merged), most talk first."""
    raw = [_speaker(s) for s in data.get("speakers") or [] if isinstance(s, Mapping)]
    by_email: dict[str, list[Speaker]] = {}
    people: list[Speaker] = []
    for spk in raw:
        if spk.email is None:
            people.append(spk)
        else:
            by_email.setdefault(spk.email, []).append(spk)
    people += [_merge(voices) for voices in by_email.values()]
    return sorted(people, key=lambda s: -s.talk_time)


def named_speakers(data: Mapping[str, Any]) -> list[Speaker]:
    """The speakers the result ties to an e-mail (a participant), most talk first."""
    return [s for s in speakers_of(data) if s.email]


def own_domains(data: Mapping[str, Any]) -> set[str]:
    """The tenant's own mail domains a result's job carried (``metadata.own_domains``), lower-cased."""
    metadata: Mapping[str, Any] = data.get("metadata") or {}
    return {str(d).strip().lower() for d in metadata.get("own_domains") or [] if str(d).strip()}


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def prospect_speakers(data: Mapping[str, Any], skip_domains: Iterable[str] = ()) -> list[Speaker]:
    """Named speakers from another organisation (``internal`` false), outside ``skip_domains`` and the
    job's own domains: the people a CRM record is about."""
    skip = {d.lower() for d in skip_domains} | own_domains(data)
    return [
        s
        for s in named_speakers(data)
        if s.internal is False and s.email is not None and _domain(s.email) not in skip
    ]


def speaker_for(data: Mapping[str, Any], email: str) -> Speaker | None:
    """The speaker whose e-mail is ``email`` (case-insensitive), voices merged; None when none is."""
    wanted = email.strip().lower()
    return next((s for s in named_speakers(data) if s.email == wanted), None)


Unattributed = Literal["skip", "meeting"]


@dataclass(frozen=True)
class Attribution:
    """Whose figures a CRM sink writes to which participant's record, and why."""

    by_speaker: bool  # the result names speakers with e-mails: each record gets its own person's figures
    emails: list[str]  # the participants to match, prospects (most talk first) then the rest
    speakers: dict[str, Speaker]  # e-mail -> that prospect's own figures
    internal: list[str]  # e-mails of the tenant's own speakers: never written as a prospect
    left_out: list[str]  # participants with no voice of their own while others are named

    def note(self) -> str:
        """What the delivery receipt says about whose figures were written."""
        if not self.by_speaker:
            return "meeting-level figures: no speaker named with an e-mail"
        parts = [f"own figures for {len(self.speakers)} prospect speaker(s)"]
        if self.internal:
            parts.append(f"{len(self.internal)} internal speaker(s) not written")
        if self.left_out:
            parts.append(f"{len(self.left_out)} participant(s) without a voice of their own left out")
        return ", ".join(parts)


def attribute(
    data: Mapping[str, Any], skip_domains: Iterable[str], limit: int, unattributed: Unattributed = "skip"
) -> Attribution:
    """Which participants a CRM sink writes, each with whose figures (see ``Attribution``).

    No speaker named with an e-mail: every matchable participant gets the meeting's figures (as before
    speakers were named). Otherwise the prospect speakers get their own; internal speakers are never
    written; other participants (no voice of their own) are left out, or get the meeting's figures with
    ``unattributed="meeting"``."""
    skip = [*skip_domains, *own_domains(data)]
    named = named_speakers(data)
    internal = [s.email for s in named if s.email and s.internal is True]
    others = [e for e in matchable_emails(data, skip, limit) if e not in internal]
    if not named:
        return Attribution(False, others, {}, [], [])
    prospects = {s.email: s for s in prospect_speakers(data, skip) if s.email}
    rest = [e for e in others if e not in prospects]
    emails = [*prospects, *(rest if unattributed == "meeting" else [])][:limit]
    left_out = [] if unattributed == "meeting" else rest
    return Attribution(True, emails, prospects, internal, left_out)


def attribution_for(settings: Mapping[str, Any], data: Mapping[str, Any], limit: int) -> Attribution:
    """A CRM sink's ``attribute`` from its provider settings: consumer and own mail domains skipped, and its
    ``unattributed`` choice (``meeting``, else ``skip``)."""
    skip = [*settings.get("consumer_domains", []), *settings.get("skip_domains", [])]
    return attribute(data, skip, limit, "meeting" if settings.get("unattributed") == "meeting" else "skip")


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _two(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def speakers_line(speakers: Iterable[Speaker]) -> str:
    """``Jane Buyer: Trust Score 64, V/A/D 0.61/0.55/0.48, talk 42%; …`` (the activity text)."""
    lines = []
    for s in speakers:
        score = "n/a" if s.trust_score is None else f"{s.trust_score:.0f}"
        vad = "/".join(_two(v) for v in (s.valence, s.arousal, s.dominance))
        lines.append(f"{s.label}: Trust Score {score}, V/A/D {vad}, talk {_pct(s.talk_share)}")
    return "; ".join(lines)


class PersonView(ResultView):
    """A result view for one CRM record: the person's own figures (``figures`` = ``speaker``) or the
    meeting's (``meeting``), with the prospect speakers named (``speakers``) for the call's activity."""

    figures: Literal["speaker", "meeting"] = "meeting"
    speaker: str | None = None  # whose figures these are (their name)
    talk_share: float | None = None
    talk_time: float | None = None
    speakers: str | None = None  # the prospect speakers and their scores (``speakers_line``)


def person_view(
    view: ResultView,
    speaker: Speaker | None,
    fields: Mapping[str, str] = DEFAULT_SPEAKER_FIELDS,
    prospects: Iterable[Speaker] = (),
) -> PersonView:
    """``view`` with ``speaker``'s own figures in the ``fields`` they replace (the meeting's without one)."""
    line = speakers_line(prospects) or None
    base = PersonView.model_validate({**view.model_dump(), "speakers": line})
    if speaker is None:
        return base
    own = {name: speaker.figure(path) for name, path in fields.items() if name in PersonView.model_fields}
    return base.model_copy(update={**own, "figures": "speaker", "speaker": speaker.label})


def person_views(view: ResultView, who: Attribution, fields: Mapping[str, str]) -> dict[str, PersonView]:
    """Each participant's view (by e-mail): a prospect speaker's own figures, else the meeting's."""
    prospects = list(who.speakers.values())
    meeting = person_view(view, None, prospects=prospects)
    return {
        e: person_view(view, who.speakers[e], fields, prospects) if e in who.speakers else meeting
        for e in who.emails
    }


class SpeakerField(BaseModel):
    """A mapping's ``speaker_fields`` entry: the path in a ``speakers[]`` entry a view field comes from."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        alias="from", pattern=r"^(vad\.)?(trust_score|valence|arousal|dominance|talk_share|talk_time)$"
    )


def speaker_fields(rules: Mapping[str, Any] | None) -> dict[str, str]:
    """A mapping's ``speaker_fields`` as view field -> speaker path (the defaults when absent);
    ValueError when a name is not a view field or a path is not a speaker figure."""
    if rules is None:
        return dict(DEFAULT_SPEAKER_FIELDS)
    unknown = sorted(set(rules) - set(PersonView.model_fields))
    if unknown:
        raise ValueError(f"speaker_fields names unknown view fields: {', '.join(unknown)}")
    return {name: SpeakerField.model_validate(rule).source for name, rule in rules.items()}
