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

    /// <summary>
    /// The CRC-32 of A followed by B from the CRC-32 of A, the CRC-32 of B and B's length, so that blocks can be
    /// checked on several threads. Appending <paramref name="lengthB"/> bytes multiplies A's remainder by
    /// x^(8 * lengthB) modulo the polynomial; that power is built from repeated squares.
    /// </summary>
    public static uint Combine(uint crcA, uint crcB, long lengthB)
    {
        if (lengthB <= 0)
        {
            return crcA;
        }

        // Bit-reflected polynomial arithmetic: bit 31 is x^0.
        var power = 1u << 31;
        var square = 0;
        for (var n = lengthB; n != 0; n >>= 1, square++)
        {
            if ((n & 1) != 0)
            {
                power = MultiplyModulo(PowersOfXByteSquares[square], power);
            }
        }

        return MultiplyModulo(power, crcA) ^ crcB;
    }

    /// <summary>x^(8 * 2^k) modulo the CRC polynomial, for k = 0..63.</summary>
    private static readonly uint[] PowersOfXByteSquares = CreatePowers();

    private static uint[] CreatePowers()
    {
        var powers = new uint[64];
        var p = 1u << 23; // x^8
        for (var k = 0; k < powers.Length; k++)
        {
            powers[k] = p;
            p = MultiplyModulo(p, p);
        }

        return powers;
    }

    private static uint MultiplyModulo(uint a, uint b)
    {
        const uint Polynomial = 0xEDB88320u;
        var product = 0u;
        for (var m = 1u << 31; m != 0; m >>= 1)
        {
            if ((a & m) != 0)
            {
                product ^= b;
            }

            b = (b & 1) != 0 ? (b >> 1) ^ Polynomial : b >> 1;
        }

        return product;
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

    [LibraryImport(RuntimeZlib.Library, EntryPoint = "CompressionNative_Crc32")]
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
