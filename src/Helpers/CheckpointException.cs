namespace FineTuning;

/// <summary>
/// A model folder, config.json or weight file that cannot be used. The message always names the file and,
/// where one is at fault, the field or tensor; <see cref="FilePath"/> and <see cref="Key"/> carry the same as data.
/// This is the one exception type the checkpoint loaders raise for bad input.
/// </summary>
public class CheckpointException : Exception
{
    public CheckpointException(string filePath, string message, string? key = null, Exception? inner = null)
        : base($"{filePath}: {message}", inner)
    {
        FilePath = filePath;
        Key = key;
    }

    /// <summary>The file (or folder) at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor name or config field at fault, when there is one.</summary>
    public string? Key { get; }
}
