"""Regenerate ``v1.0-trimmed.csdl.xml`` from msgraph-metadata's ``schemas/v1.0-Prod.csdl``: only the types our
Graph calls send or read (and the types they reference), structural properties only.

    python tests/contracts/graph/trim_csdl.py v1.0-Prod.csdl > tests/contracts/graph/v1.0-trimmed.csdl.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
ROOTS = (
    "subscription",
    "callRecording",
    "callTranscript",
    "onlineMeeting",
    "user",
    "message",
    "organization",
)
ACTIONS = ("sendMail",)


def _types(schema: ET.Element) -> dict[str, ET.Element]:
    return {
        e.attrib["Name"]: e
        for e in schema
        if e.tag in (f"{EDM}EntityType", f"{EDM}ComplexType", f"{EDM}EnumType")
    }


def _refs(element: ET.Element) -> set[str]:
    found = {element.attrib["BaseType"].removeprefix("graph.")} if "BaseType" in element.attrib else set()
    for prop in element.findall(f"{EDM}Property") + element.findall(f"{EDM}Parameter"):
        kind = prop.attrib["Type"].removeprefix("Collection(").removesuffix(")")
        if kind.startswith("graph."):
            found.add(kind.removeprefix("graph."))
    return found


def trim(source: str) -> str:
    """The trimmed document as text."""
    schema = (
        ET.parse(source)
        .getroot()
        .find(f"{{http://docs.oasis-open.org/odata/ns/edmx}}DataServices/{EDM}Schema")
    )
    assert schema is not None
    types = _types(schema)
    actions = [a for a in schema.findall(f"{EDM}Action") if a.attrib["Name"] in ACTIONS]
    wanted, todo = set(), set(ROOTS) | {r for a in actions for r in _refs(a)}
    while todo:
        name = todo.pop()
        if name in wanted or name not in types:
            continue
        wanted.add(name)
        todo |= _refs(types[name])
    ET.register_namespace("", EDM[1:-1])
    out = ET.Element(f"{EDM}Schema", {"Namespace": "microsoft.graph", "Alias": "graph"})
    for name in sorted(wanted):
        element = types[name]
        for nav in element.findall(f"{EDM}NavigationProperty"):
            element.remove(nav)
        for note in element.findall(f"{EDM}Annotation"):
            element.remove(note)
        out.append(element)
    out.extend(actions)
    ET.indent(out)
    return ET.tostring(out, encoding="unicode")


if __name__ == "__main__":
    sys.stdout.write(trim(sys.argv[1]) + "\n")
