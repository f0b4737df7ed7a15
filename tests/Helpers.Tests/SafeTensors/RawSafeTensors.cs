using System.Buffers.Binary;
using System.Text;

namespace FineTuning.Tests.SafeTensors;

/// <summary>Builds safetensors files byte by byte, so tests can produce exactly the damage they describe.</summary>
static class RawSafeTensors
{
    /// <summary>Writes an 8-byte little-endian length, the header JSON and the data bytes.</summary>
    public static void Write(string path, string headerJson, byte[] data, ulong? claimedHeaderLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        Write(path, header, data, claimedHeaderLength);
    }

    public static void Write(string path, byte[] header, byte[] data, ulong? claimedHeaderLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedHeaderLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The header JSON of a file (padding included).</summary>
    public static string ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return Encoding.UTF8.GetString(bytes, 8, n);
    }

    /// <summary>The data section of a file.</summary>
    public static byte[] ReadData(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return bytes[(8 + n)..];
    }
}
