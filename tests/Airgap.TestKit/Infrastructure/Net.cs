using System.Net;
using System.Net.Sockets;

namespace Airgap.TestKit.Infrastructure;

public static class Net
{
    /// <summary>
    /// A loopback port that was free a moment ago. Servers we cannot hand a socket to (the registry)
    /// need a number up front; callers retry if another process grabs it in between.
    /// </summary>
    public static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    public static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover temp dir must not fail the test that owned it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
