using Xunit.Sdk;

namespace FineTuning.Tests;

/// <summary>
/// Locates read-only fixtures in the shared folder beside the repository (<c>&lt;repo root&gt;/../shared</c>).
/// They are never copied into the repository. Locally a missing fixture skips the test (see
/// <see cref="FixtureFactAttribute"/>); with <c>CI=true</c> it fails, naming the missing path.
/// </summary>
public static class SharedFixtures
{
    static readonly Lazy<string?> RepoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        return null;
    });

    /// <summary>Whether missing fixtures must fail the run instead of skipping tests.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The shared folder (which may not exist), or null when the repository root cannot be found.</summary>
    public static string? SharedRoot =>
        RepoRoot.Value is { } root ? System.IO.Path.GetFullPath(System.IO.Path.Combine(root, "..", "shared")) : null;

    /// <summary>The full path of a shared fixture, or null when it (or the shared folder) is absent.</summary>
    public static string? TryPath(params string[] parts) =>
        SharedRoot is { } shared && System.IO.Path.Combine([shared, .. parts]) is var path && (File.Exists(path) || Directory.Exists(path))
            ? path
            : null;

    /// <summary>Why a fixture test is skipped (absent fixture, not CI), or null to run it.</summary>
    internal static string? SkipReason(string[] parts) =>
        !IsCi && TryPath(parts) is null
            ? $"shared fixture absent: {System.IO.Path.Combine([SharedRoot ?? "../shared", .. parts])} (set CI=true to fail instead)"
            : null;

    /// <summary>
    /// The full path of a shared fixture, e.g. <c>Path("fixtures", "seqcls-model", "model.safetensors")</c>.
    /// Throws (failing the test) with the missing path in the message when it is absent.
    /// </summary>
    public static string Path(params string[] parts) =>
        TryPath(parts) ?? throw new XunitException(
            $"shared fixture missing: {System.IO.Path.Combine([SharedRoot ?? "<repo root not found>/../shared", .. parts])}" +
            (IsCi ? " (CI=true: fixtures are required)" : ""));
}

/// <summary>
/// A <see cref="FactAttribute"/> for tests that need a shared fixture: skipped when the fixture is absent, unless
/// <c>CI=true</c>, where the test runs and fails on <see cref="SharedFixtures.Path"/> with the missing path.
/// </summary>
public sealed class FixtureFactAttribute : FactAttribute
{
    /// <param name="parts">The fixture the test needs, relative to the shared folder (default: the shared folder itself).</param>
    public FixtureFactAttribute(params string[] parts) => Skip = SharedFixtures.SkipReason(parts);
}

/// <summary>The <see cref="TheoryAttribute"/> twin of <see cref="FixtureFactAttribute"/>.</summary>
public sealed class FixtureTheoryAttribute : TheoryAttribute
{
    /// <param name="parts">The fixture the test needs, relative to the shared folder (default: the shared folder itself).</param>
    public FixtureTheoryAttribute(params string[] parts) => Skip = SharedFixtures.SkipReason(parts);
}
