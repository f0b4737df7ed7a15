namespace FineTuning;

/// <summary>
/// A seam for the reliability tests and <c>tools/Reliability</c>: it sees every file the library writes through
/// <see cref="AtomicFile"/> and every checkpoint folder the Trainer publishes, so a test can make the disk "fill up"
/// after N bytes, or stop a process at an exact point of a checkpoint write before killing it. Both hooks are null in
/// normal use and then cost nothing. Process-wide: tests that set them must not run in parallel (this test assembly
/// never does).
/// </summary>
internal static class FileWriteHooks
{
    /// <summary>Given a file's final path and the stream onto its temporary copy, returns the stream to write through
    /// (e.g. one that throws "No space left on device" after N bytes).</summary>
    public static Func<string, Stream, Stream>? WrapStream;

    /// <summary>Called with a target path (a file, or a <c>checkpoint-N</c> folder) just before the rename that
    /// publishes it; the temporary copy is complete and flushed at that point.</summary>
    public static Action<string>? BeforeRename;
}
