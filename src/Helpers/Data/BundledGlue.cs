using FineTuning.Hub;

namespace FineTuning.Data;

/// <summary>
/// GLUE tasks whose original files ship with this repository (<c>data/glue/{task}/</c>: MRPC's train.tsv and dev.tsv,
/// with its licence), used by <c>LoadDataset("glue", task)</c> when the Hub is offline or unreachable and its cache lacks
/// the task — as <see cref="EmbeddedModel"/> does for the model. The build copies the folder next to FineTuning.dll.
/// </summary>
internal static class BundledGlue
{
    /// <summary>The tasks shipped; each one's folder holds GLUE's TSVs (no test split: GLUE never published its labels).</summary>
    public static IReadOnlyList<string> Tasks { get; } = ["mrpc"];

    /// <summary>The task's shipped folder, or null when it is not shipped (or not found next to the library).</summary>
    public static string? Folder(string task, string? revision)
    {
        if (revision is not (null or "main") || !Tasks.Contains(task)) return null;
        var folder = Path.Combine(Path.GetDirectoryName(typeof(BundledGlue).Assembly.Location) ?? AppContext.BaseDirectory, "data", "glue", task);
        return Directory.Exists(folder) ? folder : null;
    }

    /// <summary>Says in the log that the shipped copy is used, and why.</summary>
    public static void LogFallback(string task, string folder, LocalEntryNotFoundException why) =>
        Logging.Warning($"GLUE {task} is not in the Hub cache ({(why.InnerException is null ? "the Hub is offline: HF_HUB_OFFLINE=1" : "the Hub could not be reached")}): " +
                        $"loaded from the copy shipped with the repository (data/glue/{task}, GLUE's train.tsv and dev.tsv; no test split) in {folder}");
}
