"""The outline of each category, in unit coordinates: body, trims, seams and where buttons, pockets and logos go."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]
Shape = tuple[str, Sequence[Point] | tuple[float, float, float, float]]  # ("poly", points) | ("ellipse", box)


@dataclass
class Layout:
    """A product drawing plan; (0, 0) is the top left of the canvas, (1, 1) the bottom right."""

    body: list[Shape] = field(default_factory=list)  # filled with the fabric pattern
    inner: list[Shape] = field(default_factory=list)  # openings, filled with a dark shade of the base colour
    trim: list[Shape] = field(default_factory=list)  # filled with the trim colour
    trim_lines: list[tuple[Sequence[Point], float]] = field(default_factory=list)  # (points, width) in trim colour
    seams: list[tuple[Sequence[Point], float]] = field(default_factory=list)  # darker lines on the body
    button_line: tuple[float, float, float] | None = None  # x, y_top, y_bottom
    pocket_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    logo_at: tuple[float, float, float] | None = None  # x, y, radius


def mirrored(left: Sequence[Point]) -> list[Point]:
    """A symmetric polygon from its left half, listed top to bottom."""
    return [*left, *[(1.0 - x, y) for x, y in reversed(left)]]


def poly(points: Sequence[Point]) -> Shape:
    return ("poly", list(points))


def ellipse(x0: float, y0: float, x1: float, y1: float) -> Shape:
    return ("ellipse", (x0, y0, x1, y1))


def t_shirt(s: Sequence[float]) -> Layout:
    w, hem, sleeve = 0.22 + 0.06 * s[0], 0.82 + 0.08 * s[1], 0.36 + 0.08 * s[2]
    left = [(0.42, 0.16), (0.5 - w - 0.04, 0.2), (0.1, sleeve), (0.2, sleeve + 0.08), (0.5 - w, 0.34),
            (0.5 - w, hem)]
    return Layout(body=[poly(mirrored(left))], inner=[ellipse(0.42, 0.12, 0.58, 0.22)],
                  trim_lines=[([(0.41, 0.15), (0.45, 0.22), (0.5, 0.235), (0.55, 0.22), (0.59, 0.15)], 0.025),
                              ([(0.5 - w, hem - 0.01), (0.5 + w, hem - 0.01)], 0.02 + 0.02 * s[3])],
                  seams=[([(0.5 - w, 0.34), (0.5 - w, 0.2)], 0.006), ([(0.5 + w, 0.34), (0.5 + w, 0.2)], 0.006)],
                  pocket_boxes=[(0.56, 0.3, 0.68, 0.42)], logo_at=(0.5, 0.42, 0.06 + 0.03 * s[3]))


def sweater(s: Sequence[float]) -> Layout:
    w, hem = 0.2 + 0.06 * s[0], 0.8 + 0.08 * s[1]
    left = [(0.42, 0.15), (0.5 - w - 0.05, 0.19), (0.1, 0.72), (0.2, 0.75), (0.5 - w, 0.34), (0.5 - w, hem)]
    vneck = s[2] > 0.5
    neck = poly([(0.42, 0.14), (0.5, 0.3), (0.58, 0.14)]) if vneck else ellipse(0.42, 0.11, 0.58, 0.21)
    return Layout(body=[poly(mirrored(left))], inner=[neck],
                  trim=[poly([(0.1, 0.7), (0.2, 0.73), (0.18, 0.79), (0.07, 0.76)]),
                        poly([(0.9, 0.7), (0.8, 0.73), (0.82, 0.79), (0.93, 0.76)]),
                        poly([(0.5 - w, hem - 0.05), (0.5 + w, hem - 0.05), (0.5 + w, hem), (0.5 - w, hem)])],
                  trim_lines=[([(0.41, 0.13), (0.5, 0.31 if vneck else 0.225), (0.59, 0.13)], 0.022)],
                  logo_at=(0.5, 0.45, 0.05 + 0.04 * s[3]))


def jacket(s: Sequence[float]) -> Layout:
    w, hem = 0.22 + 0.05 * s[0], 0.82 + 0.08 * s[1]
    left = [(0.43, 0.14), (0.5 - w - 0.05, 0.18), (0.09, 0.76), (0.19, 0.78), (0.5 - w, 0.36), (0.5 - w, hem)]
    lapel = 0.36 + 0.1 * s[2]
    return Layout(body=[poly(mirrored(left))], inner=[poly([(0.43, 0.14), (0.5, lapel), (0.57, 0.14)])],
                  trim=[poly([(0.43, 0.14), (0.38, 0.2), (0.48, lapel), (0.5, lapel)]),
                        poly([(0.57, 0.14), (0.62, 0.2), (0.52, lapel), (0.5, lapel)])],
                  trim_lines=[([(0.09, 0.75), (0.19, 0.77)], 0.03), ([(0.91, 0.75), (0.81, 0.77)], 0.03)],
                  seams=[([(0.5, lapel), (0.5, hem)], 0.008)], button_line=(0.53, lapel + 0.04, hem - 0.06),
                  pocket_boxes=[(0.5 - w + 0.04, 0.62, 0.44, 0.72), (0.56, 0.62, 0.5 + w - 0.04, 0.72)],
                  logo_at=(0.38, 0.3, 0.035 + 0.02 * s[3]))


def dress(s: Sequence[float]) -> Layout:
    waist, flare, hem = 0.1 + 0.03 * s[0], 0.2 + 0.16 * s[1], 0.84 + 0.1 * s[2]
    left = [(0.4, 0.12), (0.34, 0.16), (0.34, 0.3), (0.5 - waist, 0.44), (0.5 - flare - 0.08, hem)]
    straps = s[3] > 0.5
    layout = Layout(body=[poly(mirrored(left))], inner=[ellipse(0.42, 0.08, 0.58, 0.17)],
                    trim=[poly([(0.5 - waist - 0.01, 0.43), (0.5 + waist + 0.01, 0.43),
                                (0.5 + waist + 0.012, 0.48), (0.5 - waist - 0.012, 0.48)])],
                    seams=[([(0.5 - flare * 0.4, 0.5), (0.5 - flare * 0.8, hem - 0.02)], 0.005),
                           ([(0.5 + flare * 0.4, 0.5), (0.5 + flare * 0.8, hem - 0.02)], 0.005)],
                    button_line=(0.5, 0.18, 0.4), pocket_boxes=[(0.3, 0.55, 0.4, 0.64)])
    if straps:
        layout.trim_lines += [([(0.36, 0.17), (0.38, 0.05)], 0.02), ([(0.64, 0.17), (0.62, 0.05)], 0.02)]
    else:
        layout.body.append(poly([(0.34, 0.16), (0.24, 0.26), (0.3, 0.3), (0.35, 0.25)]))
        layout.body.append(poly([(0.66, 0.16), (0.76, 0.26), (0.7, 0.3), (0.65, 0.25)]))
    return layout


def skirt(s: Sequence[float]) -> Layout:
    top, flare, hem = 0.17 + 0.04 * s[0], 0.28 + 0.14 * s[1], 0.72 + 0.14 * s[2]
    body = poly(mirrored([(0.5 - top, 0.24), (0.5 - flare, hem)]))
    pleats = [([(0.5 + k * top / 3, 0.27), (0.5 + k * flare / 3, hem)], 0.005) for k in (-2, -1, 0, 1, 2)]
    return Layout(body=[body], trim=[poly([(0.5 - top, 0.18), (0.5 + top, 0.18), (0.5 + top, 0.25),
                                           (0.5 - top, 0.25)])],
                  seams=pleats if s[3] > 0.4 else [], button_line=(0.5 + top - 0.04, 0.2, 0.36),
                  pocket_boxes=[(0.5 - top + 0.02, 0.3, 0.5 - top + 0.12, 0.4)])


def trousers(s: Sequence[float], length: float = 0.92) -> Layout:
    top, leg, crotch = 0.17 + 0.04 * s[0], 0.08 + 0.05 * s[1], 0.42 + 0.06 * s[2]
    bottom = length if length > 0.7 else length + 0.05 * s[3]
    left = [(0.5 - top, 0.16), (0.5 - top - 0.03 - 0.04 * s[3], bottom), (0.5 - 0.035 - 0.02 * s[3], bottom),
            (0.5, crotch)]
    body = poly([*left, *[(1.0 - x, y) for x, y in reversed(left[:-1])]])
    layout = Layout(body=[body], trim=[poly([(0.5 - top, 0.1), (0.5 + top, 0.1), (0.5 + top, 0.16),
                                             (0.5 - top, 0.16)])],
                    seams=[([(0.5, 0.16), (0.5, crotch - 0.03)], 0.008),
                           ([(0.5 - top + 0.02, 0.2), (0.5 - top + 0.09, 0.28)], 0.008),
                           ([(0.5 + top - 0.02, 0.2), (0.5 + top - 0.09, 0.28)], 0.008)],
                    button_line=(0.5, 0.13, 0.13), pocket_boxes=[(0.5 - top + 0.03, 0.32, 0.5 - top + 0.12, 0.42)])
    if length < 0.7:
        layout.trim_lines.append(([(0.5 - top - 0.08, bottom - 0.015), (0.5 - 0.035, bottom - 0.015)], 0.03))
        layout.trim_lines.append(([(0.5 + top + 0.08, bottom - 0.015), (0.5 + 0.035, bottom - 0.015)], 0.03))
        layout.logo_at = (0.5 + top - 0.05, bottom - 0.1, 0.035 + 0.02 * s[3])
    return layout


def shorts(s: Sequence[float]) -> Layout:
    return trousers(s, length=0.56)


def shoe(s: Sequence[float]) -> Layout:
    boot, toe = s[0] > 0.7, 0.84 + 0.06 * s[1]
    ankle = 0.18 if boot else 0.32 + 0.08 * s[2]
    upper = [(0.14, ankle), (0.34, ankle + 0.03), (0.44, ankle + 0.08), (0.62, 0.48), (toe - 0.04, 0.54),
             (toe + 0.04, 0.62), (toe + 0.04, 0.68), (0.12, 0.68), (0.11, 0.5)]
    laces = [([(0.38 + 0.05 * k, ankle + 0.08 + 0.035 * k), (0.44 + 0.05 * k, ankle + 0.13 + 0.035 * k)], 0.012)
             for k in range(4)]
    cap = (poly([(0.7, 0.5), (toe - 0.04, 0.54), (toe + 0.04, 0.62), (toe + 0.04, 0.66), (0.7, 0.66)])
           if s[3] > 0.5 else poly([(0.11, 0.46), (0.2, 0.45), (0.2, 0.66), (0.11, 0.66)]))
    return Layout(body=[poly(upper)], inner=[poly([(0.16, ankle + 0.005), (0.33, ankle + 0.035),
                                                   (0.31, ankle + 0.06), (0.17, ankle + 0.035)])],
                  trim=[poly([(0.1, 0.66), (toe + 0.06, 0.66), (toe + 0.05, 0.73), (0.11, 0.73)]), cap],
                  trim_lines=laces, seams=[([(0.2, 0.62), (toe, 0.625)], 0.006)],
                  logo_at=(0.34, 0.56, 0.05 + 0.02 * s[3]))


def bag(s: Sequence[float]) -> Layout:
    w, top, bottom = 0.28 + 0.08 * s[0], 0.4 - 0.08 * s[1], 0.82
    tote = s[2] > 0.5
    body = poly([(0.5 - w + (0.05 if tote else 0.0), top), (0.5 + w - (0.05 if tote else 0.0), top),
                 (0.5 + w, bottom), (0.5 - w, bottom)])
    handle_top = top - 0.2 - 0.1 * s[3]
    handle = [(0.5 - w * 0.55, top), (0.5 - w * 0.45, handle_top), (0.5 + w * 0.45, handle_top),
              (0.5 + w * 0.55, top)]
    layout = Layout(body=[body], trim_lines=[(handle, 0.035)], logo_at=(0.5, (top + bottom) / 2 + 0.08, 0.06))
    if not tote:  # a satchel: a flap with a clasp
        layout.trim.append(poly([(0.5 - w, top), (0.5 + w, top), (0.5 + w, top + 0.18), (0.5, top + 0.24),
                                 (0.5 - w, top + 0.18)]))
        layout.button_line = (0.5, top + 0.22, top + 0.22)
    layout.pocket_boxes = [(0.5 - w * 0.6, bottom - 0.2, 0.5 - w * 0.1, bottom - 0.06)]
    return layout


def hat(s: Sequence[float]) -> Layout:
    crown_w, crown_h, brim = 0.18 + 0.06 * s[0], 0.22 + 0.1 * s[1], 0.3 + 0.12 * s[2]
    base = 0.6
    layout = Layout(body=[ellipse(0.5 - brim, base - 0.06, 0.5 + brim, base + 0.07)], logo_at=None)
    if s[3] > 0.5:  # a fedora-like crown with a band
        layout.body.append(poly([(0.5 - crown_w, base), (0.5 - crown_w + 0.03, base - crown_h),
                                 (0.5, base - crown_h + 0.04), (0.5 + crown_w - 0.03, base - crown_h),
                                 (0.5 + crown_w, base)]))
        layout.trim.append(poly([(0.5 - crown_w, base - 0.01), (0.5 + crown_w, base - 0.01),
                                 (0.5 + crown_w - 0.005, base - 0.07), (0.5 - crown_w + 0.005, base - 0.07)]))
        layout.logo_at = (0.5 + crown_w - 0.06, base - 0.04, 0.025)
    else:  # a knitted beanie: a dome, a folded cuff and a pompom, no brim
        w, top = crown_w + 0.08, base - crown_h * 1.5
        layout.body = [ellipse(0.5 - w, top, 0.5 + w, base + 0.2), poly([(0.5 - w, base - 0.02),
                                                                          (0.5 + w, base - 0.02),
                                                                          (0.5 + w, base + 0.1),
                                                                          (0.5 - w, base + 0.1)])]
        layout.trim = [poly([(0.5 - w - 0.01, base), (0.5 + w + 0.01, base), (0.5 + w + 0.01, base + 0.11),
                             (0.5 - w - 0.01, base + 0.11)]), ellipse(0.44, top - 0.08, 0.56, top + 0.04)]
        layout.logo_at = (0.5, base + 0.055, 0.035)
    return layout


LAYOUTS: dict[str, Callable[[Sequence[float]], Layout]] = {
    "t-shirt": t_shirt, "sweater": sweater, "jacket": jacket, "dress": dress, "skirt": skirt,
    "trousers": trousers, "shorts": shorts, "shoe": shoe, "bag": bag, "hat": hat,
}
