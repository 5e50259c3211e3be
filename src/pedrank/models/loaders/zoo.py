"""Zoo names: the registered models of :mod:`pedrank.models.zoo`."""

from __future__ import annotations

from pedrank.models.loaders._common import ModelSpec, check_kind, no_layer

__all__ = ["resolve"]


def resolve(
    spec: str, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec | None:
    """The zoo entry ``spec`` as a :class:`ModelSpec`, or ``None`` when no entry has that name.

    ``image_size`` resizes the entry's preprocessing; entries whose graph only
    takes its native size (``extra["fixed_input_size"]``) and text encoders keep
    their own, so one ``image_size`` can be passed to a mixed list of models.
    """
    from pedrank.models.zoo import get_entry

    try:
        entry = get_entry(spec)
    except KeyError:
        return None
    check_kind(spec, entry.kind, kind)
    no_layer(spec, layer, "zoo models (their feature layer is fixed)")
    pre = entry.preprocessing
    resizable = hasattr(pre, "with_size") and not entry.extra.get("fixed_input_size")
    if image_size is not None and resizable:
        pre = pre.with_size(image_size)
    return ModelSpec(
        spec=spec,
        name=entry.name,
        kind=entry.kind,
        cache_id=entry.cache_id,
        preprocessing=pre,
        image_size=getattr(pre, "size", None),
        description=f"zoo: {entry.name}",
        loader=entry.load,
    )
