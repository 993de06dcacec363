import org.apache.kafka.common.config.ConfigDef;
import java.lang.reflect.*;
public class StandaloneKeys {
  public static void main(String[] a) throws Exception {
    Class<?> c = Class.forName("org.apache.kafka.connect.runtime.standalone.StandaloneConfig");
    ConfigDef d = null;
    for (Method m : c.getDeclaredMethods()) if (m.getReturnType()==ConfigDef.class && m.getParameterCount()==0) { m.setAccessible(true); d=(ConfigDef)m.invoke(null); }
    if (d==null) for (Field f: c.getDeclaredFields()) if (f.getType()==ConfigDef.class) { f.setAccessible(true); d=(ConfigDef)f.get(null); }
    for (ConfigDef.ConfigKey k : d.configKeys().values()) System.out.println(k.name+"\t"+k.type+"\t"+(k.hasDefault()? k.defaultValue : "<required>"));
  }
}
