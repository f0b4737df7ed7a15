namespace FineTuning.Tests.SafeTensors;

/// <summary>A fresh folder under the system temp folder, deleted with everything in it on disposal.</summary>
sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"st-tests-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Names of leftover temporary files (the writer's <c>.*.tmp</c>).</summary>
    public string[] TempFiles() =>
        Directory.GetFiles(Path, "*.tmp").Select(System.IO.Path.GetFileName).ToArray()!;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
