"""Deadline plugin for faceswap_vfx: runs a ``faceswap-vfx`` command over a task's frames.

Install: copy this folder to ``<DeadlineRepository>/custom/plugins/FaceswapVFX``. Jobs made
by ``faceswap-vfx submit --farm deadline`` name it. Plugin info: ``Executable`` (absolute
path of ``faceswap-vfx``), ``Arguments`` (the command's arguments, quoted for the OS) and
``FrameStep``; the task's frames are appended as ``--frames=<first>-<last>[x<step>]``.

Unlike the stock CommandLine plugin run with ``ShellExecute=False`` (which does not read the
process's output), stdout is handled: ``Progress: NN%`` (and align's
``Progress: NN% (label)``) sets the task's progress and status, the CLI's
``faceswap-vfx <command>: error: ...`` line fails the task with that message, and a logged
``ERROR`` (a frame that failed while the render went on) is logged as a warning; the exit
code decides the rest. Runs in Deadline's own Python 3; standard library only.
"""

from Deadline.Plugins import DeadlinePlugin, PluginType

PROGRESS = r"^Progress: (\d{1,3})%(?: \((.*)\))?\s*$"
ERROR = r"^faceswap-vfx(?: [\w-]+)?: error: (.*)$"
LOGGED_ERROR = r"^(?:ERROR|CRITICAL) [\w.]+: (.*)$"
# the same lines faceswap_vfx.backend.parse_line reads (a test holds them equal); Deadline
# matches them as .NET regular expressions, whose syntax for these is Python's


def GetDeadlinePlugin():  # noqa: N802 - Deadline's entry points
    return FaceswapVFXPlugin()


def CleanupDeadlinePlugin(deadline_plugin):  # noqa: N802
    deadline_plugin.Cleanup()


class FaceswapVFXPlugin(DeadlinePlugin):
    def __init__(self):
        super().__init__()
        self.InitializeProcessCallback += self.InitializeProcess
        self.RenderExecutableCallback += self.RenderExecutable
        self.RenderArgumentCallback += self.RenderArgument

    def Cleanup(self):  # noqa: N802
        for handler in self.StdoutHandlers:
            del handler.HandleCallback
        del self.InitializeProcessCallback
        del self.RenderExecutableCallback
        del self.RenderArgumentCallback

    def InitializeProcess(self):  # noqa: N802
        self.PluginType = PluginType.Simple
        self.SingleFramesOnly = False
        self.StdoutHandling = True
        self.PopupHandling = False
        self.AddStdoutHandlerCallback(PROGRESS).HandleCallback += self.HandleProgress
        self.AddStdoutHandlerCallback(ERROR).HandleCallback += self.HandleError
        self.AddStdoutHandlerCallback(LOGGED_ERROR).HandleCallback += self.HandleLoggedError

    def RenderExecutable(self):  # noqa: N802
        return self.GetPluginInfoEntry("Executable")

    def RenderArgument(self):  # noqa: N802
        step = int(self.GetPluginInfoEntryWithDefault("FrameStep", "1") or 1)
        frames = f"{self.GetStartFrame()}-{self.GetEndFrame()}" + (f"x{step}" if step > 1
                                                                   else "")
        return f"{self.GetPluginInfoEntry('Arguments')} --frames={frames}".strip()

    def HandleProgress(self):  # noqa: N802
        self.SetProgress(float(min(100, int(self.GetRegexMatch(1)))))
        label = self.GetRegexMatch(2)
        self.SetStatusMessage(f"{self.GetRegexMatch(1)}%" + (f" ({label})" if label else ""))

    def HandleError(self):  # noqa: N802
        self.FailRender(self.GetRegexMatch(1))

    def HandleLoggedError(self):  # noqa: N802
        self.LogWarning(self.GetRegexMatch(1))

