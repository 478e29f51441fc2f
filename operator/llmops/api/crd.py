"""Generate the LLMDeployment CustomResourceDefinition from the pydantic models (`llmops crd`)."""

from typing import Any

import yaml

from llmops.api.resource import CATEGORIES, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION
from llmops.api.spec import LLMDeploymentSpec
from llmops.api.status import LLMDeploymentStatus

# Keywords a structural schema may carry; everything else pydantic emits (title, additionalProperties: false,
# $defs, ...) is dropped. Unknown fields are still refused: the API server prunes them and kubectl's strict
# field validation reports them.
_KEPT = {
    "type", "description", "properties", "required", "items", "enum", "default", "format", "pattern",
    "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "additionalProperties",
    "x-kubernetes-validations", "x-kubernetes-int-or-string", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "nullable",
}  # fmt: skip


_OPTIONAL = "x-llmops-optional"  # internal marker, removed before output


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline $refs, collapse Optional (anyOf X|null) to X, and drop keywords a structural schema forbids."""
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    optional = False
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**target, **node}  # the field's own description wins over the type's docstring
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"cannot express union {branches} in a structural schema")
        optional = True
        node = {**_resolve(branches[0], defs), **{k: v for k, v in node.items() if k != "default"}}
        if node.get("default", "absent") is None:
            del node["default"]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEPT:
            continue
        if key == "properties":
            out[key] = {name: _resolve(prop, defs) for name, prop in value.items()}
        elif key in ("items",):
            out[key] = _resolve(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, dict):
                out[key] = _resolve(value, defs)
        else:
            out[key] = value
    if out.get("default", "absent") is None:
        del out["default"]
    if out.get("type") == "object" and "properties" in out:
        # A nested (non-optional) object defaults to its own filled-in defaults, so an omitted section gets
        # them and its CEL rules (which the API server checks against the default) hold.
        for prop in out["properties"].values():
            if prop.pop(_OPTIONAL, False):
                continue
            is_object = prop.get("type") == "object" and "properties" in prop
            if is_object and "default" not in prop and not prop.get("required"):
                prop["default"] = _filled_defaults(prop)
    if optional:
        out[_OPTIONAL] = True
    return out


def _filled_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The object an omitted section defaults to: every property's default, recursively."""
    filled = {}
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            filled[name] = prop["default"]
        elif prop.get("type") == "object" and "properties" in prop and not prop.get("required"):
            nested = _filled_defaults(prop)
            if nested:
                filled[name] = nested
    return filled


def structural_schema(model: type[Any]) -> dict[str, Any]:
    """The OpenAPI v3 structural schema of a pydantic model, in API casing."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    schema = dict(_resolve(raw, raw.get("$defs", {})))
    schema.pop(_OPTIONAL, None)
    return schema


def _printer_columns() -> list[dict[str, Any]]:
    columns = [
        ("Accelerator", "string", ".status.plan.accelerator", "Accelerator class replicas run on."),
        ("Runtime", "string", ".status.plan.runtime", "Serving runtime."),
        ("Format", "string", ".status.plan.format", "Format the runtime serves."),
        ("Phase", "string", ".status.phase", "Lifecycle phase."),
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Ready condition."),
        ("Replicas", "integer", ".status.readyReplicas", "Ready serving replicas."),
        ("Age", "date", ".metadata.creationTimestamp", "Time since creation."),
    ]
    return [{"name": n, "type": t, "jsonPath": p, "description": d} for n, t, p, d in columns]


def crd() -> dict[str, Any]:
    """The whole CustomResourceDefinition object."""
    spec_schema = structural_schema(LLMDeploymentSpec)
    status_schema = structural_schema(LLMDeploymentStatus)
    spec_schema["description"] = "Desired state: the model, the hardware it runs on and how it is served."
    status_schema["description"] = "Observed state, written only by the operator."
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{GROUP}",
            "labels": {"app.kubernetes.io/name": "llmops", "app.kubernetes.io/part-of": "llmops"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": SHORT_NAMES,
                "categories": CATEGORIES,
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "LLMDeployment turns a model (Hugging Face repo or volume) into a "
                            "served LLM: it plans runtime and format from the hardware, converts the model "
                            "once per content key, and deploys the runtime.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string", "description": "API version of the object."},
                                "kind": {"type": "string", "description": "Kind of the object."},
                                # The API server forbids anything but a bare type on metadata.
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.serving.replicas",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.selector",
                        },
                    },
                    "additionalPrinterColumns": _printer_columns(),
                }
            ],
        },
    }


def crd_yaml() -> str:
    """The CRD as the YAML committed in crds/."""
    header = "# Generated by `llmops crd` from operator/llmops/api; do not edit by hand.\n"
    return header + yaml.dump(crd(), Dumper=_NoAliasDumper, sort_keys=False, width=120)


class _NoAliasDumper(yaml.SafeDumper):
    """Plain YAML: a default shared by two sections is written out twice, not as an anchor."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
