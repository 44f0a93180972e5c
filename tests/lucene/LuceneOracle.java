/*
 * Test oracle for mrs's conformance suite: real Lucene analysis, BM25 scoring and vector similarity, driven
 * over stdin/stdout so one JVM serves a whole test module. Uses only org.apache.lucene.* classes.
 *
 * Protocol: UTF-8 lines; every text travels base64-encoded (UTF-8 bytes); floats travel as their IEEE-754
 * bits (Float.floatToRawIntBits, decimal). Each request is one header line plus its payload lines; the reply
 * is one line per item, then a line "END".
 *
 *   TOKENS <standard|english> <n>          + n lines text         -> n lines: base64 tokens, space-separated
 *   BM25 <BM25|LegacyBM25> <k1> <b> <standard|english> <tie_breaker> <top_k> <n_docs> <n_queries>
 *        + 1 line "field:boost field:boost ..." + n_docs lines (tab-separated field texts, "-" = field absent)
 *        + n_queries lines query text      -> n_queries lines: "doc:bits doc:bits ..." (Lucene's top_k order)
 *   COSINE <dim> <n>                       + n lines: 2*dim float bits (a then b) -> n lines: bits of
 *                                            VectorSimilarityFunction.COSINE.compare(a, b)
 *   QUIT
 */

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInvertState;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.CollectionStatistics;
import org.apache.lucene.search.DisjunctionMaxQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TermStatistics;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.search.similarities.Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;

public final class LuceneOracle {

  /** Elasticsearch's LegacyBM25Similarity: BM25Similarity with the (k1 + 1) factor folded into the boost. */
  static final class LegacyBM25 extends Similarity {
    private final BM25Similarity bm25;

    LegacyBM25(float k1, float b) {
      this.bm25 = new BM25Similarity(k1, b);
    }

    @Override
    public long computeNorm(FieldInvertState state) {
      return bm25.computeNorm(state);
    }

    @Override
    public SimScorer scorer(float boost, CollectionStatistics collection, TermStatistics... terms) {
      return bm25.scorer(boost * (1 + bm25.getK1()), collection, terms);
    }
  }

  private static final Base64.Decoder B64D = Base64.getDecoder();
  private static final Base64.Encoder B64E = Base64.getEncoder();

  static String text(String b64) {
    return new String(B64D.decode(b64), StandardCharsets.UTF_8);
  }

  static Analyzer analyzer(String name) {
    switch (name) {
      case "standard": // OpenSearch's `standard`: no stop words, max_token_length 255
        return new StandardAnalyzer();
      case "english": // OpenSearch's `english`: EnglishAnalyzer's default stop set, no stem exclusions
        return new EnglishAnalyzer();
      default:
        throw new IllegalArgumentException("unknown analyzer " + name);
    }
  }

  static List<String> tokens(Analyzer analyzer, String field, String text) throws IOException {
    List<String> out = new ArrayList<>();
    try (TokenStream stream = analyzer.tokenStream(field, text)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      while (stream.incrementToken()) {
        out.add(term.toString());
      }
      stream.end();
    }
    return out;
  }

  static void tokensRequest(String[] head, BufferedReader in, PrintStream out) throws IOException {
    Analyzer analyzer = analyzer(head[1]);
    int n = Integer.parseInt(head[2]);
    for (int i = 0; i < n; i++) {
      StringBuilder line = new StringBuilder();
      for (String tok : tokens(analyzer, "f", text(in.readLine()))) {
        if (line.length() > 0) line.append(' ');
        line.append(B64E.encodeToString(tok.getBytes(StandardCharsets.UTF_8)));
      }
      out.println(line);
    }
  }

  static void bm25Request(String[] head, BufferedReader in, PrintStream out) throws IOException {
    float k1 = Float.parseFloat(head[2]);
    float b = Float.parseFloat(head[3]);
    Similarity similarity =
        head[1].equals("LegacyBM25") ? new LegacyBM25(k1, b) : new BM25Similarity(k1, b);
    Analyzer analyzer = analyzer(head[4]);
    float tieBreaker = Float.parseFloat(head[5]);
    int topK = Integer.parseInt(head[6]);
    int nDocs = Integer.parseInt(head[7]);
    int nQueries = Integer.parseInt(head[8]);
    String[] specs = in.readLine().trim().split(" ");
    String[] fields = new String[specs.length];
    float[] boosts = new float[specs.length];
    for (int f = 0; f < specs.length; f++) {
      int colon = specs[f].lastIndexOf(':');
      fields[f] = specs[f].substring(0, colon);
      boosts[f] = Float.parseFloat(specs[f].substring(colon + 1));
    }
    ByteBuffersDirectory dir = new ByteBuffersDirectory();
    IndexWriterConfig config = new IndexWriterConfig(analyzer).setSimilarity(similarity);
    try (IndexWriter writer = new IndexWriter(dir, config)) {
      for (int d = 0; d < nDocs; d++) {
        String[] cells = in.readLine().split("\t", -1);
        Document doc = new Document();
        for (int f = 0; f < fields.length; f++) {
          if (!cells[f].equals("-")) doc.add(new TextField(fields[f], text(cells[f]), Field.Store.NO));
        }
        writer.addDocument(doc);
      }
      writer.forceMerge(1);
    }
    try (DirectoryReader reader = DirectoryReader.open(dir)) {
      IndexSearcher searcher = new IndexSearcher(reader);
      searcher.setSimilarity(similarity);
      for (int q = 0; q < nQueries; q++) {
        String query = text(in.readLine());
        List<Query> perField = new ArrayList<>();
        for (int f = 0; f < fields.length; f++) {
          List<String> toks = tokens(analyzer, fields[f], query);
          if (toks.isEmpty()) continue;
          BooleanQuery.Builder match = new BooleanQuery.Builder();
          for (String tok : toks) {
            match.add(new TermQuery(new Term(fields[f], tok)), BooleanClause.Occur.SHOULD);
          }
          perField.add(new BoostQuery(match.build(), boosts[f]));
        }
        StringBuilder line = new StringBuilder();
        if (!perField.isEmpty()) {
          for (ScoreDoc hit : searcher.search(new DisjunctionMaxQuery(perField, tieBreaker), topK).scoreDocs) {
            if (line.length() > 0) line.append(' ');
            line.append(hit.doc).append(':').append(Float.floatToRawIntBits(hit.score));
          }
        }
        out.println(line);
      }
    }
  }

  static void cosineRequest(String[] head, BufferedReader in, PrintStream out) throws IOException {
    int dim = Integer.parseInt(head[1]);
    int n = Integer.parseInt(head[2]);
    for (int i = 0; i < n; i++) {
      String[] bits = in.readLine().trim().split(" ");
      float[] a = new float[dim];
      float[] b = new float[dim];
      for (int j = 0; j < dim; j++) {
        a[j] = Float.intBitsToFloat(Integer.parseInt(bits[j]));
        b[j] = Float.intBitsToFloat(Integer.parseInt(bits[dim + j]));
      }
      out.println(Float.floatToRawIntBits(VectorSimilarityFunction.COSINE.compare(a, b)));
    }
  }

  public static void main(String[] args) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    String header;
    while ((header = in.readLine()) != null) {
      String[] head = header.trim().split(" ");
      switch (head[0]) {
        case "TOKENS" -> tokensRequest(head, in, out);
        case "BM25" -> bm25Request(head, in, out);
        case "COSINE" -> cosineRequest(head, in, out);
        case "QUIT" -> {
          out.flush();
          return;
        }
        default -> throw new IllegalArgumentException("unknown request " + head[0]);
      }
      out.println("END");
      out.flush();
    }
  }
}
