using System.IO.Compression;
using System.Text;
using CurWorkflows.Cur.Reading;

namespace CurWorkflows.Cur.Tests;

public class Crc32Tests
{
    [Fact]
    public void NativeAndManagedCrc32_AgreeWithTheKnownCheckValue()
    {
        // The standard CRC-32 check value of "123456789".
        var data = Encoding.ASCII.GetBytes("123456789");

        Assert.Equal(0xCBF43926u, Crc32.Update(0, data));
        Assert.Equal(0xCBF43926u, Crc32.Managed(0, data));
    }

    [Fact]
    public void Crc32_InPieces_EqualsTheZipEntrysCrc()
    {
        var data = new byte[300_001];
        new Random(5).NextBytes(data);
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = archive.CreateEntry("x").Open())
        {
            entry.Write(data);
        }

        using var read = new ZipArchive(new MemoryStream(buffer.ToArray()));
        var crc = Crc32.Update(0, data.AsSpan(0, 1_000));
        crc = Crc32.Update(crc, data.AsSpan(1_000));

        Assert.Equal(read.Entries[0].Crc32, crc);
        Assert.Equal(crc, Crc32.Managed(Crc32.Managed(0, data.AsSpan(0, 7)), data.AsSpan(7)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4_096)]
    [InlineData(299_999)]
    [InlineData(300_001)]
    public void Crc32OfTwoParts_CombinesToTheCrc32OfTheWhole(int split)
    {
        var data = new byte[300_001];
        new Random(11).NextBytes(data);

        var combined = Crc32.Combine(Crc32.Update(0, data.AsSpan(0, split)), Crc32.Update(0, data.AsSpan(split)), data.Length - split);

        Assert.Equal(Crc32.Update(0, data), combined);
    }
}
