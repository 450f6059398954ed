"""The image view of the panel: the swap, a plate/swap wipe, the mask overlay, a pyramid band.

Only draws what the preview worker sent (display-referred 8-bit images); the wipe and
the overlay are composed here so toggling them or dragging the wipe needs no new preview.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

MASK_COLOUR = QtGui.QColor(255, 48, 48)
MASK_OPACITY = 0.45


class Viewer(QtWidgets.QWidget):
    """Shows ``swap`` (or, with the band view, ``band``) fitted to the widget. With the wipe
    on, the plate is left of the wipe line and the swap right of it; drag to move it."""

    wipe_moved = QtCore.Signal(float)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Expanding)
        self.plate: QtGui.QImage | None = None
        self.swap: QtGui.QImage | None = None
        self.band: QtGui.QImage | None = None
        self.overlay: QtGui.QImage | None = None
        self.show_mask = False
        self.wipe = False
        self.wipe_x = 0.5
        self.show_band = False
        self.placeholder = "Open a shot, or set its plates, model and identity"

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return QtCore.QSize(720, 420)

    # --- content ------------------------------------------------------------------------
    def set_images(self, plate: QtGui.QImage, swap: QtGui.QImage, mask: QtGui.QImage | None,
                   band: QtGui.QImage | None) -> None:
        self.plate, self.swap, self.band = plate, swap, band
        self.overlay = None
        if mask is not None:
            self.overlay = QtGui.QImage(mask.size(), QtGui.QImage.Format.Format_ARGB32)
            self.overlay.fill(MASK_COLOUR)
            self.overlay.setAlphaChannel(mask)
        self.update()

    def clear(self, placeholder: str) -> None:
        self.plate = self.swap = self.band = self.overlay = None
        self.placeholder = placeholder
        self.update()

    def set_options(self, *, mask: bool | None = None, wipe: bool | None = None,
                    band: bool | None = None) -> None:
        if mask is not None:
            self.show_mask = mask
        if wipe is not None:
            self.wipe = wipe
        if band is not None:
            self.show_band = band
        self.update()

    # --- drawing ------------------------------------------------------------------------
    def image_rect(self) -> QtCore.QRectF:
        """Where the image is drawn: fitted, aspect kept, centred."""
        if self.swap is None or self.swap.isNull():
            return QtCore.QRectF()
        w, h = self.swap.width(), self.swap.height()
        scale = min(self.width() / w, self.height() / h)
        size = QtCore.QSizeF(w * scale, h * scale)
        corner = QtCore.QPointF((self.width() - size.width()) / 2,
                                (self.height() - size.height()) / 2)
        return QtCore.QRectF(corner, size)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(38, 38, 38))
        rect = self.image_rect()
        if rect.isEmpty():
            painter.setPen(QtGui.QColor(170, 170, 170))
            painter.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter |
                             QtCore.Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        banded = self.show_band and self.band is not None
        painter.drawImage(rect, self.band if banded else self.swap)
        if self.wipe and not banded and self.plate is not None:
            x = rect.left() + self.wipe_x * rect.width()
            painter.save()
            painter.setClipRect(QtCore.QRectF(rect.topLeft(), QtCore.QPointF(x, rect.bottom())))
            painter.drawImage(rect, self.plate)
            painter.restore()
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 210, 0), 2))
            painter.drawLine(QtCore.QPointF(x, rect.top()), QtCore.QPointF(x, rect.bottom()))
            painter.drawText(QtCore.QPointF(x - 42, rect.top() + 16), "plate")
            painter.drawText(QtCore.QPointF(x + 8, rect.top() + 16), "swap")
        if self.show_mask and self.overlay is not None:
            painter.setOpacity(MASK_OPACITY)
            painter.drawImage(rect, self.overlay)

    # --- the wipe -----------------------------------------------------------------------
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._drag(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:  # noqa: N802
        self._drag(event)

    def _drag(self, event: QtGui.QMouseEvent) -> None:
        rect = self.image_rect()
        if not self.wipe or rect.isEmpty():
            return
        self.wipe_x = min(1.0, max(0.0, (event.position().x() - rect.left()) / rect.width()))
        self.wipe_moved.emit(self.wipe_x)
        self.update()
