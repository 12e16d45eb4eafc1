"""Animated GIFs of training: a callback that films fixed noise, and GIFs from saved grids.

:class:`GifRecorder` keeps its frames in memory as uint8 tensors and rewrites
the GIF atomically at every epoch end and when training ends; its fixed noise
and frames travel in checkpoints, so a resumed run continues the same GIF.
:func:`gif_from_files` turns grids saved earlier (``samples/epoch_*.png`` of
:class:`~mnistgan.training.SampleGrid`) into a GIF.

Note that Pillow's GIF writer merges consecutive identical frames into one
longer frame, so a GIF of a generator that did not change has fewer frames.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..errors import ConfigError
from ..training.callbacks import Callback
from ._common import _atomic_write, _positive_int, _to_uint8
from .grids import grid_image

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = ["GifRecorder", "gif_from_files", "save_gif"]

logger = logging.getLogger(__name__)

Frame = Image.Image | Tensor | np.ndarray[Any, Any]


def _as_pil(frame: Frame, index: int) -> Image.Image:
    if isinstance(frame, Image.Image):
        return frame if frame.mode in ("L", "RGB", "P") else frame.convert("RGB")
    if isinstance(frame, np.ndarray):
        frame = torch.from_numpy(frame)
    if not isinstance(frame, Tensor):
        raise ConfigError(
            f"frames must be Pillow images, uint8 arrays (H, W) / (H, W, 3) or float "
            f"tensors (C, H, W) in [0, 1]; frame {index} is a {type(frame).__name__}"
        )
    if frame.dim() == 2:
        frame = frame.unsqueeze(0)  # (H, W) -> (1, H, W)
    elif frame.dim() == 3 and frame.dtype == torch.uint8 and frame.size(-1) == 3:
        frame = frame.permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    if frame.dim() != 3 or frame.size(0) not in (1, 3):
        raise ConfigError(
            f"frame {index} must be (H, W), (H, W, 3) uint8 or (C, H, W) with C 1 or 3, "
            f"got shape {tuple(frame.shape)}"
        )
    return Image.fromarray(_to_uint8(frame).numpy())


def save_gif(
    frames: Sequence[Frame],
    path: str | os.PathLike[str],
    *,
    duration: int | Sequence[int] = 200,
    loop: int = 0,
    scale: int = 1,
) -> Path:
    """Write frames as an animated GIF, atomically.

    Args:
        frames: Pillow images, uint8 tensors or arrays ``(H, W)`` / ``(H, W, 3)``
            (as :class:`GifRecorder` keeps them), or float tensors ``(C, H, W)`` in
            [0, 1]; all of one size.
        path: Output file (``.gif``); its folder is created.
        duration: Milliseconds per frame, one number or one per frame.
        loop: Times to loop; 0 loops forever.
        scale: Nearest-neighbour enlargement by this whole factor.

    Returns:
        The path written.

    Raises:
        ConfigError: If there are no frames or they differ in size.

    Example:
        >>> import tempfile, pathlib, torch
        >>> from PIL import Image, ImageSequence
        >>> frames = [torch.full((1, 10, 20), i / 4) for i in range(5)]
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with Image.open(save_gif(frames, pathlib.Path(tmp) / "a.gif")) as gif:
        ...         gif.size, len(list(ImageSequence.Iterator(gif)))
        ((20, 10), 5)
    """
    if not frames:
        raise ConfigError("frames must hold at least one frame")
    scale = _positive_int(scale, "scale")
    pictures = [_as_pil(frame, i) for i, frame in enumerate(frames)]
    size = pictures[0].size
    for i, picture in enumerate(pictures):
        if picture.size != size:
            raise ConfigError(
                f"all frames must have one size; frame 0 is {size[0]}x{size[1]}, "
                f"frame {i} is {picture.width}x{picture.height}"
            )
    if scale > 1:
        size = (size[0] * scale, size[1] * scale)
        pictures = [p.resize(size, Image.Resampling.NEAREST) for p in pictures]
    if not isinstance(duration, int):
        duration = [int(d) for d in duration]
        if len(duration) != len(pictures):
            raise ConfigError(
                f"duration must be one number or one per frame ({len(pictures)}), "
                f"got {len(duration)} values"
            )

    def write(f: IO[bytes]) -> None:
        pictures[0].save(
            f,
            format="GIF",
            save_all=True,
            append_images=pictures[1:],
            duration=duration,
            loop=loop,
        )

    return _atomic_write(path, write)


def _natural_key(path: Path) -> list[Any]:
    """Sort key that puts ``epoch_9.png`` before ``epoch_10.png``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path.name)]


def gif_from_files(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    pattern: str = "epoch_*.png",
    duration: int | Sequence[int] = 200,
    loop: int = 0,
    scale: int = 1,
) -> Path:
    """Build a GIF from saved pictures, e.g. the per-epoch grids of a run.

    Args:
        source: A folder (its files matching ``pattern`` are used, in natural
            order: ``epoch_9`` before ``epoch_10``) or a sequence of files in the
            order wanted.
        path: Output ``.gif``.
        pattern: Glob pattern of the frames inside a folder.
        duration: Milliseconds per frame, one number or one per frame.
        loop: Times to loop; 0 loops forever.
        scale: Nearest-neighbour enlargement.

    Returns:
        The path written.

    Raises:
        ConfigError: If no file matches.

    Example:
        >>> import tempfile, pathlib, torch
        >>> from PIL import Image
        >>> from mnistgan.viz import save_grid
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     run = pathlib.Path(tmp)
        ...     for e in (1, 2, 10):
        ...         _ = save_grid(torch.rand(4, 1, 28, 28), run / f"samples/epoch_{e}.png")
        ...     with Image.open(gif_from_files(run / "samples", run / "progress.gif")) as gif:
        ...         gif.n_frames
        3
    """
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        files = sorted(folder.glob(pattern), key=_natural_key)
        if not files:
            raise ConfigError(
                f"no file in {str(folder)!r} matches {pattern!r}; pass the folder the "
                f"grids were saved to (e.g. RUN/samples) or a list of files"
            )
    else:
        files = [Path(p) for p in source]
        if not files:
            raise ConfigError("source must name at least one file")
    frames: list[Frame] = []
    for file in files:
        with Image.open(file) as im:
            frames.append(im.convert("RGB" if im.mode not in ("L", "1") else "L"))
    return save_gif(frames, path, duration=duration, loop=loop, scale=scale)


class GifRecorder(Callback):
    """Film the generator's progress on fixed noise into an animated GIF.

    The noise is drawn once from the recorder's own seeded ``torch.Generator``
    (the global random state is never touched) and a frame — the grid of the
    images generated from it — is taken after every epoch, or every
    ``every_n_steps`` training steps. Frames stay in memory as uint8 tensors; the
    GIF is rewritten atomically at each epoch end, when training ends and when
    it fails. Noise and frames travel in checkpoints (:meth:`state_dict`), so a
    resumed run continues the same GIF (each frame adds its size to every
    checkpoint: about 15 kB for 16 digits of 28 px).

    Args:
        path: The ``.gif`` to write (its folder is created).
        n: Number of images in each frame.
        nrow: Images per grid row; by default ``ceil(sqrt(n))``.
        every_n_steps: Take a frame every this many steps; ``None`` takes one per
            epoch.
        seed: Seed of the fixed noise.
        duration: Milliseconds each frame shows.
        loop: Times the GIF loops; 0 loops forever.
        scale: Nearest-neighbour enlargement of each frame.
        padding: Pixels between images.
        at_start: Also take a frame before training starts (the untrained generator).

    Example:
        >>> import tempfile, pathlib, torch
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     gif = GifRecorder(pathlib.Path(tmp) / "progress.gif", n=4)
        ...     _ = gan.fit([torch.rand(8, 1, 28, 28)] * 2, epochs=3, callbacks=[gif],
        ...                 progress=False)
        ...     len(gif.frames), tuple(gif.frames[0].shape), gif.path.exists()
        (3, (62, 62), True)
    """

    main_process_only = True  # frames and the file matter on rank 0 only (it checkpoints)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n: int = 16,
        nrow: int | None = None,
        every_n_steps: int | None = None,
        seed: int = 0,
        duration: int = 200,
        loop: int = 0,
        scale: int = 1,
        padding: int = 2,
        at_start: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".gif":
            raise ConfigError(f"path must end in .gif, got {str(path)!r}")
        self.n = _positive_int(n, "n")
        self.nrow = None if nrow is None else _positive_int(nrow, "nrow")
        self.every_n_steps = (
            None if every_n_steps is None else _positive_int(every_n_steps, "every_n_steps")
        )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self.duration = _positive_int(duration, "duration")
        self.loop = loop
        self.scale = _positive_int(scale, "scale")
        self.padding = padding
        self.at_start = bool(at_start)
        self.noise: Tensor | None = None
        self.frames: list[Tensor] = []
        """The frames so far: uint8 ``(H, W)`` (grey) or ``(H, W, 3)``."""
        self.frame_steps: list[int] = []
        """The model's ``global_step`` at each frame."""
        self._restored = False

    # ------------------------------------------------------------------ frames

    def frame(self, model: GAN) -> Tensor:
        """The current frame: the grid of images generated from the fixed noise."""
        if self.noise is None or self.noise.shape != (self.n, model.latent_dim):
            raise ConfigError("the recorder has no noise for this model yet; call fit() first")
        images = model.generate(self.noise)  # (n, C, H, W) in [0, 1], on the CPU
        picture = grid_image(images, nrow=self.nrow, padding=self.padding, scale=self.scale)
        return torch.from_numpy(np.array(picture, dtype=np.uint8))  # (H, W) or (H, W, 3)

    def _take(self, model: GAN) -> None:
        self.frames.append(self.frame(model))
        self.frame_steps.append(int(model.global_step))

    def write(self) -> Path | None:
        """Write the GIF of the frames so far (nothing when there is none yet)."""
        if not self.frames:
            return None
        return save_gif(self.frames, self.path, duration=self.duration, loop=self.loop)

    # ------------------------------------------------------------------ hooks

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Draw the fixed noise unless a checkpoint brought it; catch up a missed frame."""
        if self.noise is None or self.noise.shape != (self.n, model.latent_dim):
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.n, model.latent_dim, generator=generator)
            self.frames, self.frame_steps, self._restored = [], [], False
        if not self.frames and self.at_start:
            self._take(model)
        elif (
            self._restored
            and self.every_n_steps is None
            and model.epoch > 0
            and self.frame_steps[-1] < model.global_step
        ):
            # The checkpoint was written by a callback listed before this one, at the
            # end of an epoch whose frame it therefore lacks. The weights are those of
            # that moment, so the frame taken now is the one the run would have taken.
            self._take(model)
        self._restored = False

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        """Take a frame every ``every_n_steps`` steps."""
        if self.every_n_steps is not None and model.global_step % self.every_n_steps == 0:
            self._take(model)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Take the epoch's frame (per-epoch mode) and rewrite the GIF."""
        if self.every_n_steps is None:
            self._take(model)
        self.write()

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        """Write the GIF with every frame."""
        self.write()

    def on_exception(self, model: GAN, error: BaseException) -> None:
        """Write the frames taken so far, so an interrupted run still leaves its GIF."""
        try:
            self.write()
        except Exception as err:  # never hide the error that stopped training
            logger.warning("could not write %s after training failed: %s", self.path, err)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The fixed noise, the frames (one uint8 tensor) and their steps."""
        return {
            "noise": self.noise,
            "frames": torch.stack(self.frames) if self.frames else None,
            "frame_steps": list(self.frame_steps),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take noise and frames from a checkpoint."""
        self.noise = state.get("noise")
        frames = state.get("frames")
        self.frames = [] if frames is None else [f.clone() for f in frames.unbind(0)]
        self.frame_steps = [int(s) for s in state.get("frame_steps", [])]
        if len(self.frame_steps) != len(self.frames):
            raise ConfigError(
                f"GifRecorder state holds {len(self.frames)} frames but "
                f"{len(self.frame_steps)} steps; the checkpoint is inconsistent"
            )
        self._restored = bool(self.frames)
