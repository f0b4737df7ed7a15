using System.Runtime.CompilerServices;

namespace FineTuning.Tests.Hub;

/// <summary>
/// Keeps the test process away from the user's real Hugging Face cache, token and the network: before any test runs,
/// HF_HOME points at an empty temporary folder, the token variables are cleared and HF_HUB_OFFLINE=1, so an entry
/// point called without settings (a missing relative folder read as a Hub id) can neither download nor touch
/// ~/.cache/huggingface. Hub tests pass their own <see cref="FineTuning.Hub.HubSettings"/>; the few that test the
/// environment itself set and restore the variables (see <see cref="HubEnvironment"/>).
/// </summary>
internal static class HubIsolation
{
    public static string HfHome { get; } = Path.Combine(Path.GetTempPath(), $"finetuning-tests-hf-home-{Environment.ProcessId}");

    [ModuleInitializer]
    internal static void Isolate()
    {
        Environment.SetEnvironmentVariable("HF_HOME", HfHome);
        Environment.SetEnvironmentVariable("HF_ENDPOINT", "http://127.0.0.1:9"); // the discard port: nothing answers
        Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
        foreach (var name in new[] { "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",
                                     "TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME" })
            Environment.SetEnvironmentVariable(name, null);
    }
}
