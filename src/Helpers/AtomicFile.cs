using System.Text;

namespace FineTuning;

/// <summary>
/// Writes a file through a temporary sibling, flushed to disk, then renamed over the target: a reader (or a crash)
/// never sees half a file. UTF-8 without BOM, as Python writes JSON and vocab files.
/// </summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
