import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/** Runs one Solr node over HTTP on 127.0.0.1 from a Solr home: SolrNode SOLR_HOME PORT. */
public final class SolrNode {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: SolrNode SOLR_HOME PORT");
      System.exit(2);
    }
    JettyConfig config = JettyConfig.builder().setPort(Integer.parseInt(args[1])).setContext("/solr")
        .stopAtShutdown(true).withPortRetryTime(1).build();
    JettySolrRunner node = new JettySolrRunner(args[0], config);
    node.start();
    System.out.println("Solr node started on " + node.getBaseUrl());
    Thread.currentThread().join();
  }
}
