using System.Runtime.InteropServices;

namespace CurWorkflows.Cur.Reading;

/// <summary>
/// The zip/gzip CRC-32. .NET's own inflater never checks it, so a corrupt or cut archive would silently yield
/// wrong data. The runtime ships zlib-ng's SIMD crc32 in its compression native library (the one ZipArchive uses
/// when writing); we call it, and fall back to a table implementation where that library cannot be loaded.
/// </summary>
internal static partial class Crc32
{
    private static readonly uint[] Table = CreateTable();
    private static bool s_nativeFailed;

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return crc;
        }

        if (!s_nativeFailed)
        {
            try
            {
                return NativeCrc32(crc, ref MemoryMarshal.GetReference(data), data.Length);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_nativeFailed = true;
            }
        }

        return Managed(crc, data);
    }

    internal static uint Managed(uint crc, ReadOnlySpan<byte> data)
    {
        crc = ~crc;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    [LibraryImport("libSystem.IO.Compression.Native", EntryPoint = "CompressionNative_Crc32")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial uint NativeCrc32(uint crc, ref byte buffer, int length);

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
