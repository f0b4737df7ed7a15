using System.Text;

namespace FineTuning.Tokenizers;

/// <summary>Writes a file through a temporary sibling and a rename, so readers never see half a file.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllText(temp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
