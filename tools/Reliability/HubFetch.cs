using System.Security.Cryptography;
using FineTuning.Hub;

namespace FineTuning.Reliability;

/// <summary>
/// One process of the two-process download test: <c>hf_hub_download(repo, file)</c> with the settings of the
/// environment (HF_ENDPOINT, HF_HUB_CACHE, ...), as a user's program would. Prints <c>START</c> when it begins,
/// <c>PATH {cached path}</c>, <c>SHA256 {of the file read back}</c> and <c>DONE</c>; a Hub error goes to standard error
/// with exit code 1.
/// </summary>
public static class HubFetch
{
    public static int Run(string repoId, string file)
    {
        Console.Out.WriteLine("START");
        Console.Out.Flush();
        try
        {
            var path = FileDownload.HfHubDownload(repoId, file);
            string sha;
            using (var stream = File.OpenRead(path)) sha = Convert.ToHexStringLower(SHA256.HashData(stream));
            Console.Out.WriteLine($"PATH {path}");
            Console.Out.WriteLine($"SHA256 {sha}");
            Console.Out.WriteLine("DONE");
            return 0;
        }
        catch (HubException e)
        {
            Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
            return 1;
        }
    }
}
