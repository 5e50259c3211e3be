"""Zoo names: the registered models of :mod:`pedrank.models.zoo`."""

from __future__ import annotations

from pedrank.models.loaders._common import ModelSpec, check_kind, no_layer

__all__ = ["resolve"]


def resolve(
    spec: str, *, layer: str | None, image_size: int | None, kind: str | None
) -> ModelSpec | None:
    """The zoo entry ``spec`` as a :class:`ModelSpec`, or ``None`` when no entry has that name.

    ``image_size`` resizes the entry's preprocessing as
    :meth:`pedrank.models.zoo.ZooEntry.input_size` says (entries fixed to their
    native size and text encoders keep their own, ViTs round up to whole patches),
    so one ``image_size`` can be passed to a mixed list of models.
    """
    from pedrank.models.zoo import get_entry

    try:
        entry = get_entry(spec)
    except KeyError:
        return None
    check_kind(spec, entry.kind, kind)
    no_layer(spec, layer, "zoo models (their feature layer is fixed)")
    pre = entry.preprocessing_at(image_size)
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
