// Reads and edits the symbol-version requirements of an ELF shared library (.gnu.version_r / .gnu.version_d).
//
// Why: TorchSharp 0.107's libLibTorchSharp.so was linked by GCC 13 and so records a need for GLIBCXX_3.4.32
// (for _ZSt21ios_base_library_initv, which it never calls). Debian 12 / Ubuntu 22.04 ship libstdc++ with
// GLIBCXX_3.4.30 at most, and the dynamic loader refuses the whole library. Marking that one version need
// weak (vna_flags |= VER_FLG_WEAK) makes the loader accept a missing version, exactly as the linker would
// have written it for a weak reference. Nothing else in the file changes.
//
// This one file is compiled into the FineTuning library (runtime check, the NuGet-cache fix command, tests)
// and into the MSBuild inline task in build/TorchSharpGlibcxx.targets (the build step), so both share one
// implementation. It depends on the BCL only.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Native
{
    /// <summary>One version need of an ELF file: <c>File</c> (e.g. libstdc++.so.6) must define <c>Version</c>.</summary>
    /// <remarks>A class, not a record: this file also compiles as an MSBuild inline task against netstandard.</remarks>
    public sealed class ElfVersionNeed
    {
        public ElfVersionNeed(string file, string version, ushort flags, long flagsOffset)
        {
            File = file; Version = version; Flags = flags; FlagsOffset = flagsOffset;
        }
        /// <summary>The library that must provide the version (vn_file).</summary>
        public string File { get; }
        /// <summary>The version name (vna_name), e.g. GLIBCXX_3.4.32.</summary>
        public string Version { get; }
        /// <summary>vna_flags.</summary>
        public ushort Flags { get; }
        /// <summary>File offset of vna_flags (what <see cref="ElfVersionNeeds.MarkWeak"/> edits).</summary>
        public long FlagsOffset { get; }
        /// <summary>VER_FLG_WEAK: a missing version is not fatal for the dynamic loader.</summary>
        public const ushort WeakFlag = 0x2;
        public bool IsWeak => (Flags & WeakFlag) != 0;
    }

    /// <summary>Minimal ELF64 little-endian reader/patcher for symbol versioning sections.</summary>
    public static class ElfVersionNeeds
    {
        /// <summary>The version TorchSharp 0.107 needs and Debian 12's libstdc++ lacks.</summary>
        public const string TorchSharpGlibcxxVersion = "GLIBCXX_3.4.32";

        const uint ShtGnuVerdef = 0x6ffffffd;
        const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>All entries of <c>.gnu.version_r</c>, in file order.</summary>
        public static IReadOnlyList<ElfVersionNeed> ReadNeeds(string path)
        {
            var elf = File.ReadAllBytes(path);
            var result = new List<ElfVersionNeed>();
            foreach (var sec in Sections(elf, path))
            {
                if (sec.Type != ShtGnuVerneed) continue;
                var strtab = StringTable(elf, path, sec.Link);
                long vn = sec.Offset;
                for (uint i = 0; i < sec.Info; i++)
                {
                    Check(elf, path, vn, 16, ".gnu.version_r entry");
                    ushort cnt = U16(elf, vn + 2);
                    string file = Str(elf, path, strtab, U32(elf, vn + 4));
                    long aux = vn + U32(elf, vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        Check(elf, path, aux, 16, ".gnu.version_r aux entry");
                        result.Add(new ElfVersionNeed(file, Str(elf, path, strtab, U32(elf, aux + 8)), U16(elf, aux + 4), aux + 4));
                        uint nextAux = U32(elf, aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = U32(elf, vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return result;
        }

        /// <summary>The version names a library defines in <c>.gnu.version_d</c> (e.g. GLIBCXX_3.4.30).</summary>
        public static ISet<string> ReadDefinitions(string path)
        {
            var elf = File.ReadAllBytes(path);
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sec in Sections(elf, path))
            {
                if (sec.Type != ShtGnuVerdef) continue;
                var strtab = StringTable(elf, path, sec.Link);
                long vd = sec.Offset;
                for (uint i = 0; i < sec.Info; i++)
                {
                    Check(elf, path, vd, 20, ".gnu.version_d entry");
                    ushort cnt = U16(elf, vd + 6);
                    if (cnt > 0)
                    {
                        long aux = vd + U32(elf, vd + 12);
                        Check(elf, path, aux, 8, ".gnu.version_d aux entry");
                        result.Add(Str(elf, path, strtab, U32(elf, aux))); // the first aux names the version itself
                    }
                    uint next = U32(elf, vd + 16);
                    if (next == 0) break;
                    vd += next;
                }
            }
            return result;
        }

        /// <summary>
        /// Sets VER_FLG_WEAK on every need of <paramref name="version"/> in <paramref name="path"/>. Idempotent:
        /// returns false (and leaves the file untouched) when there is no such need or it is already weak.
        /// The file is replaced atomically (temp file, then rename), which also breaks any hard link to a
        /// package cache, so the cached original is never modified through the copy.
        /// </summary>
        public static bool MarkWeak(string path, string version)
        {
            var toPatch = new List<long>();
            foreach (var need in ReadNeeds(path))
                if (need.Version == version && !need.IsWeak) toPatch.Add(need.FlagsOffset);
            if (toPatch.Count == 0) return false;

            var bytes = File.ReadAllBytes(path);
            foreach (var offset in toPatch)
            {
                ushort flags = (ushort)(U16(bytes, offset) | ElfVersionNeed.WeakFlag);
                bytes[offset] = (byte)flags;
                bytes[offset + 1] = (byte)(flags >> 8);
            }
            var tmp = path + ".weaken-" + System.Diagnostics.Process.GetCurrentProcess().Id + ".tmp";
            try
            {
                File.WriteAllBytes(tmp, bytes);
                // rename(2) over the old name: atomic, and a hard link into a package cache keeps the original.
                File.Replace(tmp, path, null);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
            return true;
        }

        /// <summary>
        /// The libstdc++ this machine's programs load: the one mapped into this process if any, else the usual
        /// multiarch locations. Null when none is found (e.g. not Linux).
        /// </summary>
        public static string? FindSystemLibStdCxx()
        {
            try
            {
                if (File.Exists("/proc/self/maps"))
                    foreach (var line in File.ReadLines("/proc/self/maps"))
                    {
                        int slash = line.IndexOf('/');
                        if (slash < 0) continue;
                        var p = line.Substring(slash);
                        if (Path.GetFileName(p).StartsWith("libstdc++.so", StringComparison.Ordinal) && File.Exists(p)) return p;
                    }
            }
            catch (IOException) { }
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                                        "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
            {
                var p = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }

        /// <summary>
        /// True when <paramref name="library"/> needs <paramref name="version"/> (not weak) and the system libstdc++
        /// does not define it — i.e. when the dynamic loader would refuse the library on this machine.
        /// </summary>
        public static bool WouldFailToLoad(string library, string version, string? systemLibStdCxx)
        {
            bool strongNeed = false;
            foreach (var need in ReadNeeds(library))
                if (need.Version == version && !need.IsWeak) strongNeed = true;
            if (!strongNeed || systemLibStdCxx is null) return false;
            return !ReadDefinitions(systemLibStdCxx).Contains(version);
        }

        /// <summary>
        /// The build step and the fix command: weakens the GLIBCXX_3.4.32 need of <paramref name="library"/> only
        /// when the system libstdc++ lacks that version. Returns a one-line account of what was done.
        /// </summary>
        public static string PatchIfNeeded(string library, string? systemLibStdCxx = null, string version = TorchSharpGlibcxxVersion)
        {
            systemLibStdCxx ??= FindSystemLibStdCxx();
            if (systemLibStdCxx is null)
                return $"{library}: no system libstdc++ found; left unchanged.";
            if (!WouldFailToLoad(library, version, systemLibStdCxx))
            {
                bool needed = false, weak = false;
                foreach (var need in ReadNeeds(library))
                    if (need.Version == version) { needed = true; weak |= need.IsWeak; }
                var why = !needed ? $"it does not need {version}"
                        : weak ? $"its {version} need is already weak"
                        : $"{systemLibStdCxx} defines {version}";
                return $"{library}: loads as is ({why}); left unchanged.";
            }
            return MarkWeak(library, version)
                ? $"{library}: marked the {version} version need weak ({systemLibStdCxx} lacks it)."
                : $"{library}: nothing to change.";
        }

        // ---- ELF parsing -------------------------------------------------------------------------------------

        readonly struct Section
        {
            public Section(uint type, long offset, long size, uint link, uint info)
            {
                Type = type; Offset = offset; Size = size; Link = link; Info = info;
            }
            public uint Type { get; }
            public long Offset { get; }
            public long Size { get; }
            public uint Link { get; }
            public uint Info { get; }
        }

        static List<Section> Sections(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{path}: not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{path}: only 64-bit little-endian ELF files are supported.");
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3A), shnum = U16(elf, 0x3C);
            if (shentsize < 64) throw new InvalidDataException($"{path}: bad section header size {shentsize}.");
            var list = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                Check(elf, path, h, 64, "section header");
                var s = new Section(U32(elf, h + 4), (long)U64(elf, h + 24), (long)U64(elf, h + 32), U32(elf, h + 40), U32(elf, h + 44));
                list.Add(s);
            }
            return list;
        }

        static Section StringTable(byte[] elf, string path, uint index)
        {
            var all = Sections(elf, path);
            if (index >= all.Count) throw new InvalidDataException($"{path}: string table index {index} out of range.");
            var s = all[(int)index];
            Check(elf, path, s.Offset, s.Size, "string table");
            return s;
        }

        static string Str(byte[] elf, string path, Section strtab, uint offset)
        {
            long start = strtab.Offset + offset;
            if (offset >= strtab.Size) throw new InvalidDataException($"{path}: string offset {offset} outside the string table.");
            long end = start;
            while (end < strtab.Offset + strtab.Size && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        static void Check(byte[] elf, string path, long offset, long length, string what)
        {
            if (offset < 0 || length < 0 || offset + length > elf.Length)
                throw new InvalidDataException($"{path}: {what} at offset {offset} runs past the end of the file.");
        }

        static ushort U16(byte[] b, long o) => (ushort)(b[o] | b[o + 1] << 8);
        static uint U32(byte[] b, long o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        static ulong U64(byte[] b, long o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;
    }

#if !FINETUNING_LIBRARY
    /// <summary>MSBuild inline task (build/TorchSharpGlibcxx.targets): patch the copied libLibTorchSharp.so if needed.</summary>
    public class WeakenTorchSharpGlibcxxNeed : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string[] Libraries { get; set; } = Array.Empty<string>();

        public override bool Execute()
        {
            foreach (var lib in Libraries)
            {
                if (!File.Exists(lib)) continue;
                try
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, ElfVersionNeeds.PatchIfNeeded(lib));
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    Log.LogError($"Could not make {lib} loadable on this system: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
